using BenchmarkDotNet.Attributes;
using Compliance.Domain.Content;
using Compliance.Domain.Events;
using Compliance.Domain.Policies;
using Compliance.Domain.Registry;
using Compliance.Domain.Rules;

namespace Compliance.Benchmarks;

/// <summary>
/// Judging one reported text to the borrower's mobile, with 100 attempts in its window: "pieces" as the ingest called the
/// domain before the verdict (its own violation list, the contact's verdict and list, the validation notice's timing, the
/// wording's verdict and list, the score), "verdict" through <see cref="EventJudge.Judge{TRow}"/> and <see cref="EventJudge.Conclude{TRow}"/>. What
/// matters is the allocated column: what judging whole costs an event beside the pieces (the times need a quiet machine).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 6)]
public class EventVerdictBenchmarks
{
    private const string Hash = "5d41402abc4b2a76b9719d911017c592";
    private const string Body = "Please call us about your account. Reply STOP to opt out.";

    private readonly record struct Row(string AttemptId, string CallId, Attempt Attempt) : IAttemptRow;

    private readonly ContentAnalyzer _content = new(Lexicon.BuiltIn);
    private readonly AttemptWindow<Row>.View _view = new();
    private CompiledPolicy _policy = null!;
    private Account _account = null!;
    private Collector _collector = null!;
    private ContactCandidate _text = null!;
    private AttemptWindow<Row> _window = null!;
    private ReportedEvent _event;
    private EventFacts _facts;

    [GlobalSetup]
    public void Setup()
    {
        _policy = Scenarios.DefaultPolicy();
        _account = Scenarios.Account("TX-1", "borrower-tx", new Location("US", "US-TX", "", "America/Chicago"), Hash);
        _collector = new Collector("L1", Scenarios.Collector, "AG1", "Collector", CollectorKind.Human, true);
        var at = Scenarios.UsMorning;
        _text = Scenarios.CallToMobile(_account, at) with { Channel = Channel.Sms };
        _window = new AttemptWindow<Row>();
        for (var i = 0; i < 100; i++)
        {
            var when = at - TimeSpan.FromHours(1) + TimeSpan.FromSeconds(30 * i);
            _window.Add(new Row($"evt:{i}", "", new Attempt(when, "TX-1", Scenarios.Collector, Channel.Sms, Hash, DestinationClass.Own, "", ContactPointUse.Mobile,
                ContactPurpose.CollectDebt, AttemptOutcome.Delivered)));
        }

        _event = new ReportedEvent(EventKind.MessageSent, "e1", at, Channel.Sms, ContactPurpose.CollectDebt, "", "", false, Text: Body);
        _facts = new EventFacts(GateStanding.NotAsked, _text.Destination, "+1 512*****00", ContactPointUse.Mobile);
        if (Pieces() != Verdict())
        {
            throw new InvalidOperationException("The pieces and the verdict score differently.");
        }
    }

    [Benchmark(Baseline = true, Description = "text, pieces")]
    public double Pieces()
    {
        // As the server did: the candidate built for the event, its own violation list.
        var candidate = ContactCandidate.For(_account, _collector, Channel.Sms, ContactPurpose.CollectDebt, _facts.Destination!, _event.At, null);
        var violations = new List<Violation>();
        var contact = EventJudge.JudgeContact(_policy, candidate, _window.Before(_text.At, null, _view), GateStanding.NotAsked, "", imported: false);
        violations.AddRange(contact.Violations);
        if (_policy.JudgesValidationNotice(_account))
        {
            foreach (var hit in _policy.ValidationNoticeTiming(_account, _window.Before(_text.At, null, _view), _text.At, atNotice: false))
            {
                violations.Add(new Violation(hit, ""));
            }
        }

        var content = EventJudge.JudgeContent(_content, _policy, Body, Channel.Sms, _account, contact.Gate.DestinationClass, contact.Gate.Profiles);
        violations.AddRange(content.Violations);
        return _policy.Scoring.Of(violations);
    }

    [Benchmark(Description = "text, verdict")]
    public double Verdict()
    {
        var verdict = EventJudge.Judge(_event, _facts, _account, _collector, _policy, _window, _view, null);
        EventJudge.Conclude(verdict, _content, _event, _facts, _account, _collector, _policy, _window, _view, null);
        return verdict.RiskScore;
    }
}
