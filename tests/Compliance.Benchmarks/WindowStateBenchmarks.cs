using BenchmarkDotNet.Attributes;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Benchmarks;

/// <summary>
/// Judging one reported contact as the ingest does (the attempts before it, <see cref="CompiledPolicy.Evaluate"/> and
/// the validation-notice timing) for a US borrower whose whole history lies in the last hour, as in the load tool's
/// default workload: <see cref="Attempts"/> texts and calls, all inside every rule's window. "list" is the path before
/// the window state (the prior attempts found by a pass over the rows, the rules reading every attempt); "window" reads
/// the attempts before the event from <see cref="AttemptWindow{TRow}"/> by binary search, and the rules their windows.
/// Flat means the cost does not grow with <see cref="Attempts"/>. "scanned" is the window read as before ADR 0021's counts
/// (the same view, hidden behind a wrapper that keeps no counts, so the rules read the attempts in their windows), for an
/// A/B in one run; "all calls" is a borrower whose every attempt is a call (the 7-in-7 cap's own attempts fill its window).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 6)]
public class WindowStateBenchmarks
{
    private const string Hash = "5d41402abc4b2a76b9719d911017c592";

    private readonly record struct Row(string AttemptId, string CallId, Attempt Attempt) : IAttemptRow;

    private CompiledPolicy _policy = null!;
    private Account _account = null!;
    private ContactCandidate _text = null!;
    private ContactCandidate _call = null!;
    private List<Row> _rows = null!;
    private AttemptWindow<Row> _window = null!;
    private readonly AttemptWindow<Row>.View _view = new();
    private readonly List<Attempt> _copy = [];
    private AttemptWindow<Row> _calls = null!;
    private readonly Scanned _scanned = new();

    [Params(100, 1_000, 10_000)]
    public int Attempts { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _policy = Scenarios.DefaultPolicy();
        _account = Scenarios.Account("TX-1", "borrower-tx", new Location("US", "US-TX", "", "America/Chicago"), Hash);
        var at = Scenarios.UsMorning;
        _call = Scenarios.CallToMobile(_account, at);
        _text = _call with { Channel = Channel.Sms };
        _rows = new List<Row>(Attempts);
        for (var i = 0; i < Attempts; i++)
        {
            var when = at - TimeSpan.FromHours(1) + TimeSpan.FromTicks(TimeSpan.FromHours(1).Ticks / Attempts * i);
            var call = i % 50 == 0;
            _rows.Add(new Row($"evt:{i}", call ? $"call-{i}" : "", new Attempt(when, "TX-1", Scenarios.Collector, call ? Channel.VoiceCall : Channel.Sms, Hash,
                DestinationClass.Own, "", ContactPointUse.Mobile, ContactPurpose.CollectDebt, call ? AttemptOutcome.NoAnswer : AttemptOutcome.Delivered)));
        }

        _window = new AttemptWindow<Row>(_rows);
        _calls = new AttemptWindow<Row>(_rows.Select((r, i) => r with { CallId = $"call-{i}", Attempt = r.Attempt with { Channel = Channel.VoiceCall, Outcome = AttemptOutcome.NoAnswer } }));
        if (List(_text).Gate.Allowed != Window(_text).Gate.Allowed || List(_call).Hits.Count != Window(_call).Hits.Count
            || Scan(_call, _window).Gate.Hits.Count != Window(_call).Gate.Hits.Count
            || Scan(_call, _calls).Gate.Hits.Select(h => h.Message).SequenceEqual(CallsWindow().Item1.Hits.Select(h => h.Message)) is false)
        {
            throw new InvalidOperationException("The list and the window judge differently.");
        }
    }

    [Benchmark(Baseline = true, Description = "text, list")]
    public (GateResult, IReadOnlyList<RuleHit>) TextList() => List(_text).Pair;

    [Benchmark(Description = "text, window")]
    public (GateResult, IReadOnlyList<RuleHit>) TextWindow() => Window(_text).Pair;

    [Benchmark(Description = "call, list")]
    public (GateResult, IReadOnlyList<RuleHit>) CallList() => List(_call).Pair;

    [Benchmark(Description = "call, window")]
    public (GateResult, IReadOnlyList<RuleHit>) CallWindow() => Window(_call).Pair;

    [Benchmark(Description = "text, window scanned")]
    public (GateResult, IReadOnlyList<RuleHit>) TextScanned() => Scan(_text, _window).Pair;

    [Benchmark(Description = "call, window scanned")]
    public (GateResult, IReadOnlyList<RuleHit>) CallScanned() => Scan(_call, _window).Pair;

    [Benchmark(Description = "call, all calls, window")]
    public (GateResult, IReadOnlyList<RuleHit>) CallsWindow() => Judge(_call, _calls.Before(_call.At, null, _view)).Pair;

    [Benchmark(Description = "call, all calls, window scanned")]
    public (GateResult, IReadOnlyList<RuleHit>) CallsScanned() => Scan(_call, _calls).Pair;

    private Judged Scan(ContactCandidate candidate, AttemptWindow<Row> window) => Judge(candidate, _scanned.Of(window.Before(candidate.At, null, _view)));

    /// <summary>A time-ordered view that keeps no counts: the rules read the attempts in their windows, as before the counts.</summary>
    private sealed class Scanned : ITimeOrderedAttempts
    {
        private IReadOnlyList<Attempt> _inner = [];

        public int Count => _inner.Count;

        public Attempt this[int index] => _inner[index];

        public Scanned Of(IReadOnlyList<Attempt> inner)
        {
            _inner = inner;
            return this;
        }

        public IEnumerator<Attempt> GetEnumerator() => _inner.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed record Judged(GateResult Gate, IReadOnlyList<RuleHit> Hits)
    {
        public (GateResult, IReadOnlyList<RuleHit>) Pair => (Gate, Hits);
    }

    private Judged List(ContactCandidate candidate)
    {
        // As the ingest read a borrower's rows before: one pass to find the attempts at or before the event.
        _copy.Clear();
        foreach (var row in _rows)
        {
            if (row.Attempt.At <= candidate.At)
            {
                _copy.Add(row.Attempt);
            }
        }

        return Judge(candidate, _copy);
    }

    private Judged Window(ContactCandidate candidate) => Judge(candidate, _window.Before(candidate.At, null, _view));

    private Judged Judge(ContactCandidate candidate, IReadOnlyList<Attempt> prior) =>
        new(_policy.Evaluate(candidate, prior, findNext: false), _policy.ValidationNoticeTiming(_account, prior, candidate.At, atNotice: false));
}
