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

    /// <summary>Reloads every stored version.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var stored = await store.ListPoliciesAsync(null, ct);
        var builder = ImmutableDictionary.CreateBuilder<string, ImmutableArray<CompiledPolicy>>();
        foreach (var group in stored.GroupBy(p => p.LenderId))
        {
            var compiled = new List<CompiledPolicy>();
            foreach (var p in group)
            {
                var result = PolicyCompiler.Compile(p.Document, p.Version.ToString(), p.EffectiveAt, ProfileCatalog.BuiltIn);
                if (result.Policy is { } policy)
                {
                    compiled.Add(policy);
                }
                else
                {
                    logger.LogError("Policy version {Version} of lender {Lender} no longer compiles and is skipped: {Problems}",
                        p.Version, p.LenderId, string.Join("; ", result.Problems.Select(x => $"{x.Path}: {x.Message}")));
                }
            }

            // Ordered by effective time, then version: a later version with the same effective time wins.
            builder[group.Key] = [.. compiled.OrderBy(c => c.EffectiveAt).ThenBy(c => int.Parse(c.Version))];
        }

        _byLender = builder.ToImmutable();
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
