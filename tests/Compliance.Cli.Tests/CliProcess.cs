using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Compliance.Cli.Tests;

/// <summary>
/// The built CLI run as its own process, as a person runs it in a terminal: against a server's endpoint, with the
/// development keys from the server's data directory.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    /// <summary>The CLI's build output, recorded at build time (see the project file).</summary>
    private static readonly string CliAssembly = typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliAssembly").Value!;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private CliProcess(Process process)
    {
        _process = process;
    }

    public string Stdout => Read(_stdout);

    public string Stderr => Read(_stderr);

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>compliance --endpoint E --data-dir D args...</c>.</summary>
    public static CliProcess Start(string endpoint, string dataDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliAssembly);
        start.ArgumentList.Add("--endpoint");
        start.ArgumentList.Add(endpoint);
        start.ArgumentList.Add("--data-dir");
        start.ArgumentList.Add(dataDirectory);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => Append(cli._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(cli._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>Runs a command to its end: its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string endpoint, string dataDirectory, params string[] args)
    {
        using var cli = Start(endpoint, dataDirectory, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await cli._process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'compliance {string.Join(' ', args)}' did not finish within 60 s.\nstdout:\n{cli.Stdout}\nstderr:\n{cli.Stderr}");
        }

        return (cli.ExitCode, cli.Stdout, cli.Stderr);
    }

    /// <summary>Waits until the output so far satisfies <paramref name="done"/>, or fails with what was printed.</summary>
    public async Task WaitForAsync(Func<string, string, bool> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!done(Stdout, Stderr))
        {
            if (deadline.Elapsed > timeout || _process.HasExited)
            {
                throw new TimeoutException($"No {what} within {timeout} (exited: {_process.HasExited}).\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the command to end: its exit code.</summary>
    public async Task<int> ExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
