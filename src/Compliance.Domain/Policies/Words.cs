using System.Text;

namespace Compliance.Domain.Policies;

/// <summary>The snake_case words policy documents use for enum values ("voice_call" for VoiceCall).</summary>
internal static class Words
{
    public static string Snake(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    public static string Of<T>(T value) where T : struct, Enum => Snake(value.ToString());

    public static bool TryParse<T>(string word, out T value) where T : struct, Enum =>
        Vocabulary<T>.Map.TryGetValue(word, out value);

    public static IReadOnlyCollection<string> All<T>() where T : struct, Enum => Vocabulary<T>.Map.Keys;

    public static string[] List(string canonical) =>
        canonical.Length == 0 ? [] : canonical.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A lookup table indexed by the enum's integer value, true for each listed word.</summary>
    public static bool[] Set<T>(string canonical) where T : struct, Enum
    {
        var max = 0;
        foreach (var v in Enum.GetValues<T>())
        {
            max = Math.Max(max, Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));
        }

        var set = new bool[max + 1];
        foreach (var word in List(canonical))
        {
            if (TryParse<T>(word, out var value))
            {
                set[Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)] = true;
            }
        }

        return set;
    }

    private static class Vocabulary<T> where T : struct, Enum
    {
        public static readonly Dictionary<string, T> Map = Build();

        private static Dictionary<string, T> Build()
        {
            var map = new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (var value in Enum.GetValues<T>())
            {
                if (value.ToString() != "Unspecified" || typeof(T) == typeof(Registry.ContactPointUse))
                {
                    map[Snake(value.ToString())] = value;
                }
            }

            return map;
        }
    }
}
