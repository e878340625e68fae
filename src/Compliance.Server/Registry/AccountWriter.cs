using System.Threading.Channels;
using Compliance.Storage;
using Account = Compliance.Domain.Registry.Account;

namespace Compliance.Server.Registry;

/// <summary>
/// The registry's group commit: concurrent UpsertAccount calls share one write transaction, as the ingest's events
/// do. A lender loading its book (a million accounts) was held to one transaction, and one flush to disk, per account.
/// Each call is answered once the transaction that holds its account has committed, so an answered upsert is durable.
/// When a shared transaction fails, its accounts are written one by one, so a bad account fails only its own call.
/// </summary>
internal sealed class AccountWriter : IDisposable
{
    /// <summary>Most accounts written in one transaction.</summary>
    private const int MaxBatch = 256;

    private readonly IComplianceStore _store;
    private readonly Channel<Pending> _queue = System.Threading.Channels.Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    private sealed record Pending(Account Account)
    {
        public TaskCompletionSource<(Account Account, bool Created)> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public AccountWriter(IComplianceStore store)
    {
        _store = store;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Upserts the account in the next shared transaction and returns it as stored, with whether it was new.</summary>
    public async Task<(Account Account, bool Created)> UpsertAsync(Account account, CancellationToken ct)
    {
        var pending = new Pending(account);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(AccountWriter), "The service is stopping.");
        }

        return await pending.Done.Task.WaitAsync(ct);
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                var stored = await _store.UpsertAccountsAsync(batch.ConvertAll(p => p.Account), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(stored[i]);
                }
            }
            catch (Exception) when (batch.Count > 1)
            {
                foreach (var pending in batch)
                {
                    await WriteOneAsync(pending);
                }
            }
            catch (Exception e)
            {
                batch[0].Done.TrySetException(e);
            }

            batch.Clear();
        }
    }

    private async Task WriteOneAsync(Pending pending)
    {
        try
        {
            pending.Done.TrySetResult(await _store.UpsertAccountAsync(pending.Account, CancellationToken.None));
        }
        catch (Exception e)
        {
            pending.Done.TrySetException(e);
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(5));
    }
}
