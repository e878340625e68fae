namespace Compliance.Server.Infrastructure;

/// <summary>
/// Whether the store's most recent write succeeded, as the writers (the ingest group commit, the gate) report it: a
/// store that answers reads but refuses every write (a full disk) makes the service NOT_SERVING until a write succeeds.
/// </summary>
internal sealed class WriteHealth
{
    private long _failures;
    private long _sequence;
    private long _lastFailure;
    private long _lastSuccess;

    public void Succeeded() => Interlocked.Exchange(ref _lastSuccess, Interlocked.Increment(ref _sequence));

    public void Failed()
    {
        Interlocked.Increment(ref _failures);
        Interlocked.Exchange(ref _lastFailure, Interlocked.Increment(ref _sequence));
    }

    /// <summary>True when the last write reported failed.</summary>
    public bool Failing => Interlocked.Read(ref _lastFailure) > Interlocked.Read(ref _lastSuccess);
}
