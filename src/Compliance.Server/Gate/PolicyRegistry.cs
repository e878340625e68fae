using System.Collections.Immutable;
using Compliance.Domain.Policies;
using Compliance.Storage;

namespace Compliance.Server.Gate;

/// <summary>
/// Every lender's compiled policies, swapped atomically when a version is stored, so the gate's request path never
/// parses policy text or reads policy rows. A stored document that no longer compiles (e.g. after a profile change)
/// is skipped with an error, and the previous version stays in force.
/// </summary>
internal sealed class PolicyRegistry(IPolicyStore store, ILogger<PolicyRegistry> logger)
{
    public const string DefaultVersion = "default";

    private readonly CompiledPolicy _default = PolicyCompiler.Compile(null, DefaultVersion, DateTimeOffset.MinValue, ProfileCatalog.BuiltIn).Policy
        ?? throw new InvalidOperationException("The built-in default policy does not compile.");

    private volatile ImmutableDictionary<string, ImmutableArray<CompiledPolicy>> _byLender = ImmutableDictionary<string, ImmutableArray<CompiledPolicy>>.Empty;
    private readonly Dictionary<(string LenderId, int Version), CompiledPolicy?> _compiled = [];
    private readonly SemaphoreSlim _refreshing = new(1, 1);

    /// <summary>The policy in force for a lender at an instant: the latest version whose effective time has come.</summary>
    public CompiledPolicy For(string lenderId, DateTimeOffset at)
    {
        if (!_byLender.TryGetValue(lenderId, out var versions))
        {
            return _default;
        }

        for (var i = versions.Length - 1; i >= 0; i--)
        {
            if (versions[i].EffectiveAt <= at)
            {
                return versions[i];
            }
        }

        return _default;
    }

    /// <summary>
    /// Reloads the stored versions. A stored version never changes, so each is compiled once (and a version that does
    /// not compile is reported once); compiled policies are kept with the caches they have built.
    /// </summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        await _refreshing.WaitAsync(ct);
        try
        {
            // Read under the turn too: a refresh that read before a new version was stored must not publish after one
            // that read it.
            var stored = await store.ListPoliciesAsync(null, ct);
            var builder = ImmutableDictionary.CreateBuilder<string, ImmutableArray<CompiledPolicy>>();
            foreach (var group in stored.GroupBy(p => p.LenderId))
            {
                // Ordered by effective time, then version: a later version with the same effective time wins.
                builder[group.Key] = [.. group.OrderBy(p => p.EffectiveAt).ThenBy(p => p.Version).Select(CompiledVersion).OfType<CompiledPolicy>()];
            }

            _byLender = builder.ToImmutable();
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>A stored version compiled, once (null, reported once, when it does not compile).</summary>
    private CompiledPolicy? CompiledVersion(StoredPolicy p)
    {
        if (!_compiled.TryGetValue((p.LenderId, p.Version), out var policy))
        {
            _compiled[(p.LenderId, p.Version)] = policy = Compile(p);
        }

        return policy;
    }

    private CompiledPolicy? Compile(StoredPolicy p)
    {
        var result = PolicyCompiler.CompileStored(p.Document, p.Version.ToString(), p.EffectiveAt, ProfileCatalog.BuiltIn);
        if (result.Policy is null)
        {
            logger.LogError("Policy version {Version} of lender {Lender} no longer compiles and is skipped: {Problems}",
                p.Version, p.LenderId, string.Join("; ", result.Problems.Select(x => $"{x.Path}: {x.Message}")));
        }
        else if (result.Overruled is { Count: > 0 } overruled)
        {
            logger.LogWarning("Policy version {Version} of lender {Lender} is in force without what the profiles no longer allow: {Overruled}",
                p.Version, p.LenderId, string.Join("; ", overruled.Select(x => $"{x.Path}: {x.Message}")));
        }

        return result.Policy;
    }
}

/// <summary>Loads policies at start and picks up versions stored by other replicas.</summary>
internal sealed class PolicyRefresher(PolicyRegistry registry, Microsoft.Extensions.Options.IOptions<Configuration.ComplianceOptions> options, ILogger<PolicyRefresher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Gate.PolicyRefreshInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await registry.RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Refreshing policies failed; the policies in force stay in force.");
            }
        }
    }
}
