namespace Compliance.Cli.Commands;

/// <summary>Reads the files commands take (policies, event lists, call lists); '-' is standard input.</summary>
internal static class FileInput
{
    public static string ReadAllText(string path)
    {
        try
        {
            return path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read {path}: {ex.Message}");
        }
    }

    public static TextReader OpenText(string path)
    {
        try
        {
            return path == "-" ? Console.In : new StreamReader(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read {path}: {ex.Message}");
        }
    }

    /// <summary>The name used in messages about the file.</summary>
    public static string Name(string path) => path == "-" ? "standard input" : path;
}
