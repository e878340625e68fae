namespace Compliance.Server.Infrastructure;

/// <summary>
/// The long-lived calls (an alert watch, an event stream) end with their own status when the service stops. This
/// holds the server's stop until they have ended and their last frames have had a moment to reach the client: closing
/// the connection at once could overtake those frames, and the client would see the connection lost instead of the
/// status that says to come back later.
/// </summary>
internal sealed class LiveCalls : IHostedLifecycleService, IDisposable
{
    private static readonly TimeSpan MostWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan LastFrames = TimeSpan.FromMilliseconds(200);
    private readonly CancellationTokenSource _ending = new();
    private readonly CancellationTokenRegistration _stopping;
    private int _live;

    public LiveCalls(IHostApplicationLifetime lifetime) => _stopping = lifetime.ApplicationStopping.Register(End);

    /// <summary>Cancelled when the service begins to stop: long-lived calls end on it.</summary>
    public CancellationToken Ending => _ending.Token;

    /// <summary>Counts a call as live until the returned value is disposed.</summary>
    public Live Enter()
    {
        Interlocked.Increment(ref _live);
        return new Live(this);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        End();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _live) > 0 && waited.Elapsed < MostWait && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
        }

        await Task.Delay(LastFrames, CancellationToken.None);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _stopping.Dispose();
        _ending.Dispose();
    }

    private void End()
    {
        try
        {
            _ending.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>One live call.</summary>
    internal readonly struct Live(LiveCalls calls) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref calls._live);
    }
}
