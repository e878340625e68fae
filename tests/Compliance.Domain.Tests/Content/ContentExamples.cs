using Compliance.Domain.Content;
using Compliance.Domain.Registry;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Compliance.Domain.Tests.Content;

/// <summary>One message example from Content/examples.yaml: the text, where it goes, and what must be found.</summary>
public sealed class ContentExample
{
    public string Name { get; set; } = "";
    public string Text { get; set; } = "";
    public ExampleContext Context { get; set; } = new();
    public List<string> Expect { get; set; } = [];
    public string? Excerpt { get; set; }

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Content");

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    private static readonly Lazy<List<ContentExample>> All = new(() =>
        Reader.Deserialize<List<ContentExample>>(File.ReadAllText(Path.Combine(Directory, "examples.yaml"))));

    public static IReadOnlyList<ContentExample> Load() => All.Value;

    public static ContentExample Named(string name) => All.Value.Single(e => e.Name == name);

    public static ContentCategory Category(string name) => name switch
    {
        "threat" => ContentCategory.Threat,
        "abuse" => ContentCategory.Abuse,
        "impersonation" => ContentCategory.Impersonation,
        "debt_disclosure" => ContentCategory.DebtDisclosure,
        "public_shaming" => ContentCategory.PublicShaming,
        "pressure_to_borrow" => ContentCategory.PressureToBorrow,
        "missing_opt_out" => ContentCategory.MissingOptOut,
        _ => throw new ArgumentException($"unknown category '{name}' in examples.yaml", nameof(name)),
    };
}

public sealed class ExampleContext
{
    public string Channel { get; set; } = "sms";
    public bool ThirdParty { get; set; }
    public bool OptOutRequired { get; set; }

    public ContentContext ToContext() => new(
        Channel switch
        {
            "sms" => Registry.Channel.Sms,
            "email" => Registry.Channel.Email,
            "instant_message" => Registry.Channel.InstantMessage,
            "voice_call" => Registry.Channel.VoiceCall,
            _ => throw new ArgumentException($"unknown channel '{Channel}' in examples.yaml"),
        },
        ThirdParty,
        OptOutRequired);
}
