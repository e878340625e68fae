using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Compliance.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Compliance.Server.Tests;

/// <summary>
/// The server as its own process, scraped as Prometheus scrapes it, and its JSON log read as a log shipper reads it:
/// the counters move with the calls made, and the log holds no number, message body or key that was used.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("compliance-telemetry-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    [Fact]
    public async Task AScrapeOfTheMetricsPort_ShowsTheCallsMade_AndTheJsonLogHoldsNoNumberBodyOrKey()
    {
        var metricsPort = FreePort();
        const string OwnNumber = "+1 212 555 0134";
        const string FriendNumber = "+1 212 555 0199";
        const string UnknownNumber = "+1 646 555 0177";
        const string Body = "Pay the 4711 dollars by Friday or we will come to your workplace, zebra-lantern.";
        await using var server = ServerProcess.Start(_dataDirectory, new Dictionary<string, string>
        {
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__LogLevel__Compliance"] = "Debug",
            ["Compliance__Telemetry__MetricsUrl"] = $"http://127.0.0.1:{metricsPort}",
        });
        await server.WaitUntilListeningAsync(StartTimeout);
        var keys = ReadKeys();
        using var channel = GrpcChannel.ForAddress(server.Endpoint);
        var key = Bearer(keys["collection_system"]);

        await new RegistryService.RegistryServiceClient(channel).UpsertAccountAsync(new UpsertAccountRequest
        {
            Account = new Account
            {
                AccountId = "tel-1",
                // In Great Britain only the lender's own rules apply, so the mobile is allowed at any hour the test runs
                // (the server's clock is the real one); the numbers stay American, for the log's spellings of them.
                Location = new Location { Region = "GB-LND" },
                ContactPoints = { new ContactPoint { ContactPointId = "mobile", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = OwnNumber } },
                Parties = { new Party { PartyId = "friend", Role = PartyRole.Friend, ContactPoints = { new ContactPoint { Kind = ContactPointKind.Phone, Value = FriendNumber } } } },
            },
        }, key, cancellationToken: Ct);
        var gate = new ContactGateService.ContactGateServiceClient(channel);
        var verdicts = new List<Verdict>();
        foreach (var destination in new[] { new Destination { ContactPointId = "mobile" }, new Destination { PhoneNumber = UnknownNumber }, new Destination { PhoneNumber = FriendNumber } })
        {
            verdicts.Add((await gate.AuthorizeAsync(new AuthorizeRequest
            {
                Contact = new ContactRequest { AccountId = "tel-1", CollectorId = "collector-1", Channel = Channel.Sms, Destination = destination },
            }, key, cancellationToken: Ct)).Decision.Verdict);
        }

        var events = Enumerable.Range(0, 5).Select(i => EventIngestTests.Sms($"tel-e{i}", "tel-1", DateTimeOffset.UtcNow.AddMinutes(-10 + i), Body, new Destination { PhoneNumber = UnknownNumber })).ToList();
        using (var stream = new EventIngestService.EventIngestServiceClient(channel).Stream(key, cancellationToken: Ct))
        {
            await stream.RequestStream.WriteAsync(new StreamRequest { Events = { events } }, Ct);
            await stream.RequestStream.CompleteAsync();
            await foreach (var _ in stream.ResponseStream.ReadAllAsync(Ct))
            {
            }
        }

        // A full collection asked through the runtime's diagnostics port, as a heap dump asks: the live heap it found is
        // exported, with the number of that collection.
        var beforeFull = await ScrapeUntilAsync($"http://127.0.0.1:{metricsPort}/metrics", _ => true);
        await Compliance.LoadTool.FullCollection.InduceAsync(server.ProcessId, () => ScrapeUntilAsync($"http://127.0.0.1:{metricsPort}/metrics",
            text => Value(text, "compliance_gc_live_heap_collection") > Value(beforeFull, "compliance_gc_live_heap_collection")), Ct);

        var scrape = await ScrapeUntilAsync($"http://127.0.0.1:{metricsPort}/metrics",
            text => Value(text, "compliance_ingest_events_total") >= events.Count
                && Value(text, "compliance_gc_live_heap_collection") > Value(beforeFull, "compliance_gc_live_heap_collection"));
        using var http = new HttpClient();
        var onApiPort = await Record.ExceptionAsync(() => http.GetStringAsync($"{server.Endpoint}/metrics", Ct));
        server.Terminate();
        await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var log = server.Output;

        Assert.Contains(Verdict.Allow, verdicts);
        Assert.Contains(Verdict.Deny, verdicts);
        Assert.Equal(verdicts.Count(v => v == Verdict.Allow), Value(scrape, "compliance_gate_decisions_total", "verdict=\"allow\""));
        Assert.Equal(verdicts.Count(v => v == Verdict.Deny), Value(scrape, "compliance_gate_decisions_total", "verdict=\"deny\""));
        // Denials are counted by the rule that decided them (as the decision quotes it), allowed calls under "none".
        var denyRules = Regex.Matches(scrape, "^compliance_gate_decisions_total\\{(?=[^}]*verdict=\"deny\")[^}]*rule=\"(?<rule>[^\"]*)\"", RegexOptions.Multiline)
            .Select(m => m.Groups["rule"].Value).ToList();
        Assert.True(denyRules.Count > 0 && denyRules.All(r => r.Contains('.', StringComparison.Ordinal)), string.Join(", ", denyRules) + "\n" + scrape);
        Assert.Equal(verdicts.Count, Value(scrape, "compliance_gate_decision_duration_seconds_count"));
        // Buckets in seconds, fine enough for decisions of a millisecond (the defaults started at 5 s).
        Assert.Contains("compliance_gate_decision_duration_seconds_bucket{otel_scope_name=\"Compliance.Server\",verdict=\"allow\",le=\"0.001\"}", scrape, StringComparison.Ordinal);
        Assert.Equal(events.Count, Value(scrape, "compliance_ingest_events_total"));
        Assert.True(Value(scrape, "compliance_ingest_batches_total", "outcome=\"committed\"") >= 1, scrape);
        Assert.True(Value(scrape, "compliance_ingest_commit_duration_seconds_count") >= 1, scrape);
        Assert.Contains("compliance_ingest_queue_depth", scrape, StringComparison.Ordinal);
        // Where an acknowledgement's time goes: each batch's stages before its commit, and the phases of each commit
        // (the store's meter is the process's: at least this server's commits are counted).
        var committed = Value(scrape, "compliance_ingest_batches_total", "outcome=\"committed\"");
        Assert.True(Value(scrape, "compliance_ingest_stage_duration_seconds_count", "stage=\"queued\"") >= committed, scrape);
        Assert.True(Value(scrape, "compliance_ingest_stage_duration_seconds_count", "stage=\"scoring\"") >= committed, scrape);
        foreach (var phase in new[] { "write_turn", "ingest_turn", "begin", "start", "plan", "finish", "commit" })
        {
            Assert.True(Value(scrape, "compliance_store_write_phase_duration_seconds_count", $"phase=\"{phase}\"") >= committed, $"{phase}:\n{scrape}");
        }

        // Memory told apart: SQLite's own (its page caches hold the pages the writes above touched) and the runtime's
        // heap after its last collection, by generation, with the GC's pauses.
        Assert.True(Value(scrape, "compliance_store_sqlite_memory_bytes") > 0, scrape);
        Assert.True(Value(scrape, "dotnet_gc_last_collection_heap_size_bytes") > 0 || Value(scrape, "dotnet_gc_collections_total") == 0, scrape);
        Assert.Contains("dotnet_gc_last_collection_heap_size_bytes{", scrape, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_pause_time_seconds_total", scrape, StringComparison.Ordinal);
        Assert.True(Value(scrape, "compliance_gc_live_heap_collection") > Value(beforeFull, "compliance_gc_live_heap_collection"), beforeFull + "\n" + scrape);
        Assert.InRange(Value(scrape, "compliance_gc_live_heap_bytes"), 1, Value(scrape, "dotnet_gc_last_collection_memory_committed_size_bytes"));
        Assert.True(Value(scrape, "compliance_gc_live_heap_collection") <= Value(scrape, "dotnet_gc_collections_total"), scrape);
        Assert.NotNull(onApiPort); // the API's HTTP/2 port does not serve the scrape

        // Every line of the log is a JSON object; none holds a number (any of its spellings), the body or a key.
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length > 3, log);
        Assert.All(lines, line => Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind));
        Assert.Contains(lines, line => line.Contains("Created demo lender", StringComparison.Ordinal));
        var secrets = new List<string> { Body, "zebra-lantern", "4711 dollars" };
        foreach (var number in new[] { OwnNumber, FriendNumber, UnknownNumber })
        {
            var digits = new string(number.Where(char.IsDigit).ToArray());
            secrets.AddRange([number, "+" + digits, digits, digits[1..]]);
        }

        secrets.AddRange(keys.Values);
        secrets.AddRange(keys.Values.Select(k => k[^16..]));
        foreach (var file in new[] { "contact-hash.key", "platform-admin.key" })
        {
            secrets.Add(File.ReadAllText(Path.Combine(_dataDirectory, file)).Trim());
        }

        var signingKey = File.ReadAllLines(Path.Combine(_dataDirectory, "ledger-signing-key.pem"))[1];
        secrets.Add(signingKey);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, log, StringComparison.Ordinal));
    }

    private Dictionary<string, string> ReadKeys()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "dev-keys.json")));
        var keys = document.RootElement.GetProperty("keys").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        keys["platform_admin"] = document.RootElement.GetProperty("platform_admin_key").GetString()!;
        return keys;
    }

    /// <summary>The sum of a metric's samples whose labels contain <paramref name="label"/> (all samples when null).</summary>
    private static double Value(string scrape, string metric, string? label = null)
    {
        var total = 0.0;
        foreach (Match m in Regex.Matches(scrape, $"^{Regex.Escape(metric)}(\\{{(?<labels>[^}}]*)\\}})? (?<value>\\S+)", RegexOptions.Multiline))
        {
            if (label is null || m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            {
                total += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>Scrapes until the text shows what the test waits for (the exporter caches a scrape briefly), or gives the last one.</summary>
    private static async Task<string> ScrapeUntilAsync(string url, Func<string, bool> done)
    {
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };
        var text = "";
        for (var i = 0; i < 50 && !done(text); i++)
        {
            if (i > 0)
            {
                await Task.Delay(200, Ct);
            }

            text = await http.GetStringAsync(url, Ct);
        }

        return text;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
