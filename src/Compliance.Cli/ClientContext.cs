using System.CommandLine;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Compliance.Cli;

/// <summary>One invocation's connection: the resolved endpoint and API key, the channel, and where output goes.</summary>
internal sealed class ClientContext : IDisposable
{
    // Registry calls are small; a stuck server should not hang a script forever.
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;
    private readonly Func<string> _key;
    private Metadata? _headers;

    private ClientContext(Uri endpoint, Func<string> key, string keySource, Output output, CancellationToken cancellationToken)
    {
        Endpoint = endpoint.ToString().TrimEnd('/');
        _key = key;
        KeySource = keySource;
        Output = output;
        CancellationToken = cancellationToken;
        // http:// endpoints speak HTTP/2 without TLS (h2c); the channel does that on its own for http URIs.
        // Reports (an examiner export, a zip of CSV files) can be larger than gRPC's default 4 MB message.
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { MaxReceiveMessageSize = 512 * 1024 * 1024 });
        Registry = new RegistryService.RegistryServiceClient(_channel);
        Gate = new ContactGateService.ContactGateServiceClient(_channel);
        Policy = new PolicyService.PolicyServiceClient(_channel);
        Alerts = new AlertService.AlertServiceClient(_channel);
        Events = new EventIngestService.EventIngestServiceClient(_channel);
        Audit = new AuditService.AuditServiceClient(_channel);
        Report = new ReportService.ReportServiceClient(_channel);
        Health = new Health.HealthClient(_channel);
    }

    /// <summary>The server address, as printed in messages.</summary>
    public string Endpoint { get; }

    /// <summary>Where the key came from, for messages when the server refuses it.</summary>
    public string KeySource { get; }

    public Output Output { get; }

    public CancellationToken CancellationToken { get; }

    public RegistryService.RegistryServiceClient Registry { get; }

    public ContactGateService.ContactGateServiceClient Gate { get; }

    public PolicyService.PolicyServiceClient Policy { get; }

    public AlertService.AlertServiceClient Alerts { get; }

    public EventIngestService.EventIngestServiceClient Events { get; }

    public AuditService.AuditServiceClient Audit { get; }

    public ReportService.ReportServiceClient Report { get; }

    public Health.HealthClient Health { get; }

    /// <summary>Options for an authenticated call. The key is resolved on first use, so commands that need none
    /// (health) work without a key file.</summary>
    public CallOptions Call => new(
        headers: Headers,
        deadline: DateTime.UtcNow + CallTimeout,
        cancellationToken: CancellationToken);

    /// <summary>Options for an authenticated stream that runs as long as it has work (event files, evidence exports) or until Ctrl+C (alerts watch).</summary>
    public CallOptions StreamCall => new(
        headers: Headers,
        cancellationToken: CancellationToken);

    /// <summary>Options for a call that needs no key.</summary>
    public CallOptions AnonymousCall => new(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: CancellationToken);

    private Metadata Headers => _headers ??= new Metadata { { "authorization", $"Bearer {_key()}" } };

    /// <summary>Resolves endpoint and key from options, environment and the key file, in that order.</summary>
    public static ClientContext Create(ParseResult parse, KeyRole defaultRole, CancellationToken cancellationToken)
    {
        var dataDirectory = FirstNonEmpty(
            parse.GetValue(GlobalOptions.DataDirectory),
            Environment.GetEnvironmentVariable(GlobalOptions.DataDirectoryVariable))
            ?? DefaultDataDirectory();
        var keyFile = KeyFile.TryRead(dataDirectory);

        var endpointText = FirstNonEmpty(
            parse.GetValue(GlobalOptions.Endpoint),
            Environment.GetEnvironmentVariable(GlobalOptions.EndpointVariable),
            keyFile?.Endpoint)
            ?? GlobalOptions.DefaultEndpoint;
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"'{endpointText}' is not a server address such as {GlobalOptions.DefaultEndpoint}.");
        }

        var roleWord = parse.GetValue(GlobalOptions.Role);
        var role = roleWord is null ? defaultRole : Words.KeyRoles.Parse(roleWord);
        var (explicitKey, keySource) = parse.GetValue(GlobalOptions.Key) is { Length: > 0 } option
            ? (option, "the key given with --key")
            : Environment.GetEnvironmentVariable(GlobalOptions.KeyVariable) is { Length: > 0 } variable
                ? (variable, $"the key in ${GlobalOptions.KeyVariable}")
                : (null, $"the {Words.KeyRoles.Name(role)} key from {KeyFile.PathIn(dataDirectory)}");
        var output = new Output(parse.GetValue(GlobalOptions.Output) == "json", Console.Out, Console.Error);
        return new ClientContext(endpoint, () => explicitKey ?? KeyFromFile(keyFile, dataDirectory, role), keySource, output, cancellationToken);
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>The server's own default (ComplianceOptions.DefaultDataDirectory), so both find the same key file.</summary>
    private static string DefaultDataDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "compliance");

    private static string KeyFromFile(KeyFile? keyFile, string dataDirectory, KeyRole role)
    {
        var roleWord = Words.KeyRoles.Name(role);
        if (keyFile is null)
        {
            throw new UsageException(
                $"No API key. Pass --key <api-key> or set ${GlobalOptions.KeyVariable}. "
                + $"(No {KeyFile.FileName} in {dataDirectory}: a Development server writes one there on its first start; "
                + "point --data-dir at the server's data directory to use it.)");
        }

        return keyFile.KeyFor(role) is { Length: > 0 } key
            ? key
            : throw new UsageException($"{keyFile.Path} has no {roleWord} key. Pass --key <api-key>, or choose another key with --role.");
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
