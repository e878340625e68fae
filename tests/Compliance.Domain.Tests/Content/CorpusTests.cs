using System.Globalization;
using System.Text;
using Compliance.Domain.Content;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Compliance.Domain.Tests.Content;

/// <summary>
/// The wording corpus (Content/Corpus/{language}/{category}.yaml): messages that show a category's conduct and hard
/// near-misses that do not, each split into the part the lexicon was tuned on and a part written afterwards and
/// measured before any further tuning (held out). Precision and recall are measured per category and language.
/// </summary>
public sealed class CorpusTests(ITestOutputHelper output)
{
    /// <summary>The least share of flagged messages that must show the conduct.</summary>
    private const double MinimumPrecision = 0.9;

    /// <summary>The least share of the conduct's messages that must be flagged.</summary>
    private const double MinimumRecall = 0.9;

    private const int MinimumMessages = 50;

    private static readonly ContentAnalyzer Analyzer = new(Lexicon.BuiltIn);

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    private static string Root => Path.Combine(ContentExample.Directory, "Corpus");

    private static IEnumerable<string> FileNames =>
        Directory.GetFiles(Root, "*.yaml", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Root, f)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Files => [.. FileNames];

    [Theory]
    [MemberData(nameof(Files))]
    public void CorpusFile_HasEnoughPositiveAndNearMissMessages(string file)
    {
        var corpus = Load(file);

        Assert.InRange(corpus.Tuning.Positive.Count + corpus.HeldOut.Positive.Count, MinimumMessages, int.MaxValue);
        Assert.InRange(corpus.Tuning.Negative.Count + corpus.HeldOut.Negative.Count, MinimumMessages, int.MaxValue);
        Assert.Equal(Path.GetFileNameWithoutExtension(file), corpus.Category);
        Assert.Equal(Path.GetDirectoryName(file), corpus.Language);
    }

    [Fact]
    public void EveryCategoryAndLanguage_MeetsPrecisionAndRecall()
    {
        var table = new StringBuilder();
        table.AppendLine("language category           part      pos  neg   TP  FN  FP  precision recall");
        var misses = new StringBuilder();
        var failures = new List<string>();
        foreach (var file in FileNames)
        {
            var corpus = Load(file);
            var category = ContentExample.Category(corpus.Category);
            var context = corpus.Context.ToContext();
            var total = new Score();
            foreach (var (part, messages) in new[] { ("tuning", corpus.Tuning), ("held-out", corpus.HeldOut) })
            {
                var score = new Score();
                foreach (var text in messages.Positive)
                {
                    if (Flags(text, category, context))
                    {
                        score.TruePositive++;
                    }
                    else
                    {
                        score.FalseNegative++;
                        misses.AppendLine(CultureInfo.InvariantCulture, $"  missed    {file} ({part}): {text}");
                    }
                }

                foreach (var text in messages.Negative)
                {
                    if (Flags(text, category, context))
                    {
                        score.FalsePositive++;
                        misses.AppendLine(CultureInfo.InvariantCulture, $"  flagged   {file} ({part}): {text}");
                    }
                }

                score.Negatives = messages.Negative.Count;
                table.AppendLine(score.Row(corpus.Language, corpus.Category, part));
                total.Add(score);
            }

            table.AppendLine(total.Row(corpus.Language, corpus.Category, "all"));
            if (total.Precision < MinimumPrecision || total.Recall < MinimumRecall)
            {
                failures.Add($"{file}: precision {total.Precision:0.00}, recall {total.Recall:0.00}");
            }
        }

        output.WriteLine(table.ToString());
        output.WriteLine(misses.Length == 0 ? "No misses." : "Misses:\n" + misses);
        Assert.True(failures.Count == 0,
            $"Below precision {MinimumPrecision} or recall {MinimumRecall}:\n{string.Join('\n', failures)}\n\n{table}\n{misses}");
    }

    private static bool Flags(string text, ContentCategory category, ContentContext context) =>
        Analyzer.Analyze(text, context).Any(f => f.Category == category);

    private static CorpusFile Load(string file) =>
        Reader.Deserialize<CorpusFile>(File.ReadAllText(Path.Combine(Root, file)));

    private sealed class Score
    {
        public int TruePositive { get; set; }
        public int FalseNegative { get; set; }
        public int FalsePositive { get; set; }
        public int Negatives { get; set; }

        public double Precision => TruePositive + FalsePositive == 0 ? 1 : (double)TruePositive / (TruePositive + FalsePositive);
        public double Recall => TruePositive + FalseNegative == 0 ? 1 : (double)TruePositive / (TruePositive + FalseNegative);

        public void Add(Score other)
        {
            TruePositive += other.TruePositive;
            FalseNegative += other.FalseNegative;
            FalsePositive += other.FalsePositive;
            Negatives += other.Negatives;
        }

        public string Row(string language, string category, string part) => string.Create(CultureInfo.InvariantCulture,
            $"{language,-8} {category,-19} {part,-8} {TruePositive + FalseNegative,4} {Negatives,4} {TruePositive,4} {FalseNegative,3} {FalsePositive,3}  {Precision,9:0.00} {Recall,6:0.00}");
    }
}

/// <summary>One corpus file: a category's messages in one language.</summary>
public sealed class CorpusFile
{
    public string Category { get; set; } = "";
    public string Language { get; set; } = "";
    public ExampleContext Context { get; set; } = new();
    public CorpusPart Tuning { get; set; } = new();
    public CorpusPart HeldOut { get; set; } = new();
}

/// <summary>Messages that show the conduct (positive) and near-misses that do not (negative).</summary>
public sealed class CorpusPart
{
    public List<string> Positive { get; set; } = [];
    public List<string> Negative { get; set; } = [];
}
