namespace Compliance.Server.Audit;

/// <summary>Counts and names as people read them: "1 gate decision", "voice call".</summary>
internal static class Words
{
    /// <summary>A count with its noun, singular for one.</summary>
    public static string Count(long n, string singular, string? plural = null) =>
        $"{n:N0} {(n == 1 ? singular : plural ?? singular + "s")}";

    /// <summary>An enum name in lower-case words: "CeaseCommunication" becomes "cease communication".</summary>
    public static string Readable(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "";
        }

        var text = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && !char.IsUpper(name[i - 1]))
            {
                text.Append(' ');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }
}
