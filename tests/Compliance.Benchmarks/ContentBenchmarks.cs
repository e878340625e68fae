using BenchmarkDotNet.Attributes;
using Compliance.Domain.Content;
using Compliance.Domain.Registry;

namespace Compliance.Benchmarks;

/// <summary>
/// Content analysis of a 500-character text message, English and Chinese, clean and with findings. The baseline
/// lower-cases the same clean text: a fixed, cheap pass over the characters. Goal: under 50 µs per message.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class ContentBenchmarks
{
    private const int Length = 500;

    private static readonly string[] EnglishClean =
    [
        "Hello Jane, this is Northwind Credit about your account ending 4821. ",
        "Your payment of $120.00 was due on November 3. ",
        "You can pay online at any time or call us on weekdays between 9am and 6pm to set up a plan that works for you. ",
        "If you have already paid, thank you, and please ignore this message. ",
        "Reply STOP to opt out of text messages. ",
    ];

    private static readonly string[] EnglishFindings =
    [
        "Jane, this is your final notice about account 4821. ",
        "Pay today or you will be arrested and we will tell your employer and your neighbours. ",
        "We know where you live. ",
        "Borrow from a friend or take a payday loan if you have to, just pay. ",
        "Our officers are on their way. ",
    ];

    private static readonly string[] ChineseClean =
    [
        "张女士您好，这里是北方信贷客服中心。",
        "您尾号4821的账户本期应还金额为人民币1200元，到期日为11月3日。",
        "您可以通过手机银行或官方应用随时办理，也可以在工作日九点至十八点致电客服协商还款计划。",
        "如您已办理，请忽略本短信，感谢您的支持与配合。",
        "祝您生活愉快。",
    ];

    private static readonly string[] ChineseFindings =
    [
        "张三你听好，",
        "今天不还我们就上门找你，后果自负，",
        "我们会通知你的单位和你的家人，",
        "没钱就去网贷平台借，以贷养贷也得还，",
        "别让我们收拾你。",
    ];

    private static readonly ContentContext UsText = new(Channel.Sms, ToThirdParty: false, RequireOptOutNotice: true);
    private static readonly ContentContext CnText = new(Channel.Sms, ToThirdParty: false, RequireOptOutNotice: false);

    private readonly ContentAnalyzer _analyzer = new(Lexicon.BuiltIn);
    private string _clean = "";
    private string _findings = "";
    private ContentContext _context = UsText;

    [Params("en", "zh")]
    public string Language { get; set; } = "en";

    [GlobalSetup]
    public void Setup()
    {
        var english = Language == "en";
        _clean = Fill(english ? EnglishClean : ChineseClean);
        _findings = Fill(english ? EnglishFindings : ChineseFindings);
        _context = english ? UsText : CnText;

        var clean = _analyzer.Analyze(_clean, _context);
        if (clean.Count != 0)
        {
            throw new InvalidOperationException($"The clean {Language} message has findings: {string.Join(", ", clean.Select(f => f.Term))}");
        }

        if (_analyzer.Analyze(_findings, _context).Count < 3)
        {
            throw new InvalidOperationException($"The {Language} message with findings has fewer than 3.");
        }
    }

    [Benchmark(Baseline = true, Description = "ToLowerInvariant (reference)")]
    public string Lower() => _clean.ToLowerInvariant();

    [Benchmark(Description = "Analyze, clean")]
    public IReadOnlyList<ContentFinding> AnalyzeClean() => _analyzer.Analyze(_clean, _context);

    [Benchmark(Description = "Analyze, with findings")]
    public IReadOnlyList<ContentFinding> AnalyzeWithFindings() => _analyzer.Analyze(_findings, _context);

    /// <summary>The sentences repeated to exactly <see cref="Length"/> characters.</summary>
    private static string Fill(string[] sentences)
    {
        var text = new System.Text.StringBuilder();
        while (text.Length < Length)
        {
            foreach (var sentence in sentences)
            {
                text.Append(sentence);
            }
        }

        return text.ToString(0, Length);
    }
}
