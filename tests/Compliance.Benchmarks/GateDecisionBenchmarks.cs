using BenchmarkDotNet.Attributes;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Benchmarks;

/// <summary>
/// One gate decision in memory: <see cref="CompiledPolicy.Evaluate"/> with a borrower's history already loaded.
/// Goal: under 20 µs per decision.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class GateDecisionBenchmarks
{
    private const string Hash = "5d41402abc4b2a76b9719d911017c592";

    private CompiledPolicy _policy = null!;
    private ContactCandidate _usAllowed = null!;
    private ContactCandidate _usDenied = null!;
    private ContactCandidate _cnAllowed = null!;
    private List<Attempt> _usHistory = null!;
    private List<Attempt> _cnHistory = null!;

    [GlobalSetup]
    public void Setup()
    {
        _policy = Scenarios.DefaultPolicy();
        var quiet = Scenarios.Account("MA-1", "borrower-ma", Scenarios.Massachusetts, Hash);
        var busy = quiet with { AccountId = "MA-2" };
        _usHistory = Scenarios.History(Scenarios.UsMorning, "MA-1", "MA-2", Hash);
        _usAllowed = Scenarios.CallToMobile(quiet, Scenarios.UsMorning);
        _usDenied = Scenarios.CallToMobile(busy, Scenarios.UsEvening);

        var cn = Scenarios.Account("GD-1", "borrower-gd", Scenarios.Guangdong, Hash);
        _cnHistory = Scenarios.History(Scenarios.CnMorning, "GD-1", "GD-2", Hash);
        _cnAllowed = Scenarios.CallToMobile(cn, Scenarios.CnMorning);

        Scenarios.Expect(_policy.Evaluate(_usAllowed, []), allowed: true, nextAllowed: false, "US-MA, empty history");
        Scenarios.Expect(_policy.Evaluate(_usAllowed, _usHistory), allowed: true, nextAllowed: false, "US-MA, 50 attempts, allowed");
        Scenarios.Expect(_policy.Evaluate(_usDenied, _usHistory), allowed: false, nextAllowed: true, "US-MA, 50 attempts, denied");
        Scenarios.Expect(_policy.Evaluate(_cnAllowed, _cnHistory), allowed: true, nextAllowed: false, "CN, 50 attempts, allowed");
    }

    [Benchmark(Baseline = true, Description = "US-MA, empty history")]
    public GateResult EmptyHistory() => _policy.Evaluate(_usAllowed, []);

    [Benchmark(Description = "US-MA, 50 attempts, allowed")]
    public GateResult UsAllowed() => _policy.Evaluate(_usAllowed, _usHistory);

    [Benchmark(Description = "US-MA, 50 attempts, denied + next-allowed search")]
    public GateResult UsDeniedWithSearch() => _policy.Evaluate(_usDenied, _usHistory);

    [Benchmark(Description = "CN, 50 attempts, allowed")]
    public GateResult CnAllowed() => _policy.Evaluate(_cnAllowed, _cnHistory);
}
