using System.Diagnostics;
using Compliance.Api.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;

namespace Compliance.Server.Tests;

/// <summary>
/// A seeded fuzz run over the registry, the gate and the event stream: valid requests mutated field by field (long,
/// empty, numeric and odd strings; undefined enum values; timestamps and durations out of range; oversized lists)
/// plus raw bytes that are not protobuf. No answer may be UNKNOWN or INTERNAL, none may hang, and the server must
/// still serve afterwards. The seed and the count come from FUZZ_SEED and FUZZ_REQUESTS when set.
/// </summary>
public sealed class FuzzTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task AHundredThousandMutatedRequests_GetNoUnknownNoInternal_AndTheServerStillServes()
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : 20261206;
        var total = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_REQUESTS"), out var n) ? n : 100_000;
        // A shared or slow machine stops at the time budget and says how far it got (a dedicated CI core makes the
        // 100,000 well within it); the run fails only on a wrong answer, a hang or a server that stopped serving.
        var budget = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), out var b) ? b : 180);
        await SeedAsync(ct);
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var sent = 0;
        var clock = Stopwatch.StartNew();
        var workers = Math.Max(4, Environment.ProcessorCount);

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var fuzz = new Fuzzer(new Random(seed + w));
            var channel = server.Channel(server.Keys.Administrator);
            var registry = new RegistryService.RegistryServiceClient(channel);
            var gate = new ContactGateService.ContactGateServiceClient(channel);
            var invoker = channel.CreateCallInvoker();
            AsyncDuplexStreamingCall<StreamRequest, StreamResponse>? stream = null;
            Task reader = Task.CompletedTask;
            while (Interlocked.Increment(ref sent) <= total && failures.Count < 20 && clock.Elapsed < budget)
            {
                var pick = fuzz.Random.Next(100);
                // Spread over the seeded accounts, as a lender's traffic is: one account taking every write would make
                // this a test of one borrower's growing record rather than of the input checks.
                var account = Templates.AccountId(fuzz.Random);
                string what;
                StatusCode status;
                try
                {
                    var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
                    switch (pick)
                    {
                        case < 20:
                            what = "UpsertAccount";
                            await registry.UpsertAccountAsync(fuzz.Mutate(Templates.Upsert(account)), options);
                            break;
                        case < 27:
                            what = "SetFlag";
                            await registry.SetFlagAsync(fuzz.Mutate(Templates.SetFlag(account)), options);
                            break;
                        case < 32:
                            what = "GetAccount";
                            await registry.GetAccountAsync(fuzz.Mutate(new GetAccountRequest { AccountId = account }), options);
                            break;
                        case < 52:
                            what = "Authorize";
                            await gate.AuthorizeAsync(fuzz.Mutate(new AuthorizeRequest { Contact = Templates.Contact(account) }), options);
                            break;
                        case < 62:
                            what = "Evaluate";
                            await gate.EvaluateAsync(fuzz.Mutate(new EvaluateRequest { Contacts = { Templates.Contact(account) }, At = Timestamp.FromDateTimeOffset(Now) }), options);
                            break;
                        case < 65:
                            what = "raw bytes";
                            var method = new Method<byte[], byte[]>(MethodType.Unary, "compliance.v1.ContactGateService", "Authorize", Bytes, Bytes);
                            await invoker.AsyncUnaryCall(method, null, options, fuzz.Garbage());
                            break;
                        default:
                            // Requests are sent without waiting for each acknowledgement; a reader takes them as they come.
                            what = "Stream";
                            if (stream is null)
                            {
                                stream = new EventIngestService.EventIngestServiceClient(channel).Stream(cancellationToken: ct);
                                var responses = stream.ResponseStream;
                                reader = Task.Run(async () =>
                                {
                                    try
                                    {
                                        while (await responses.MoveNext(ct))
                                        {
                                            statuses.AddOrUpdate("Stream acknowledged", 1, (_, c) => c + 1);
                                        }
                                    }
                                    catch (RpcException e)
                                    {
                                        statuses.AddOrUpdate($"Stream ended {e.StatusCode}", 1, (_, c) => c + 1);
                                        if (e.StatusCode is StatusCode.Unknown or StatusCode.Internal or StatusCode.Unavailable)
                                        {
                                            failures.Enqueue($"stream {e.StatusCode}: {e.Status.Detail}");
                                        }
                                    }
                                }, ct);
                            }

                            var request = new StreamRequest();
                            for (var i = fuzz.Random.Next(1, 4); i > 0; i--)
                            {
                                request.Events.Add(fuzz.Mutate(Templates.Event(fuzz.Random, account)));
                            }

                            await stream.RequestStream.WriteAsync(request, ct);
                            break;
                    }

                    status = StatusCode.OK;
                }
                catch (RpcException e)
                {
                    what = pick >= 65 ? "Stream" : "call";
                    status = e.StatusCode;
                    if (pick >= 65)
                    {
                        await reader;
                        stream?.Dispose();
                        stream = null;
                    }

                    if (status is StatusCode.Unknown or StatusCode.Internal or StatusCode.DeadlineExceeded or StatusCode.Unavailable)
                    {
                        failures.Enqueue($"{status}: {e.Status.Detail}");
                    }
                }

                catch (Exception e) when (e is OperationCanceledException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    what = "hang";
                    status = StatusCode.DeadlineExceeded;
                    failures.Enqueue($"{pick}: {e.Message}");
                }

                statuses.AddOrUpdate($"{what} {status}", 1, (_, c) => c + 1);
            }

            if (stream is not null)
            {
                await stream.RequestStream.CompleteAsync();
                await reader;
                stream.Dispose();
            }
        }, ct)));
        clock.Stop();
        var health = await new Health.HealthClient(server.Channel(null)).CheckAsync(new HealthCheckRequest(), cancellationToken: ct);
        GC.Collect();
        var heap = GC.GetTotalMemory(forceFullCollection: true);

        var report = $"fuzz: {Math.Min(sent - workers, total):N0} requests (seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s, heap {heap / 1048576} MB: "
            + string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"));
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        if (Environment.GetEnvironmentVariable("FUZZ_REPORT") is { Length: > 0 } file)
        {
            await File.WriteAllTextAsync(file, report, ct);
        }

        Assert.True(failures.IsEmpty, $"seed {seed}: {string.Join("\n", failures.Take(20))}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.True(heap < 1024L * 1024 * 1024, $"{heap / 1048576} MB of managed heap after the run");
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create<byte[]>(b => b, b => b);

    private async Task SeedAsync(CancellationToken ct)
    {
        var registry = new RegistryService.RegistryServiceClient(server.Channel(server.Keys.Administrator));
        for (var i = 1; i <= Templates.Accounts; i++)
        {
            await registry.UpsertAccountAsync(Templates.Upsert($"fz-{i}"), cancellationToken: ct);
        }
    }

    /// <summary>Valid requests that the fuzzer mutates.</summary>
    private static class Templates
    {
        /// <summary>How many accounts the requests are about (fz-1, fz-2, ...).</summary>
        public const int Accounts = 64;

        public static string AccountId(Random random) => $"fz-{random.Next(Accounts) + 1}";

        public static UpsertAccountRequest Upsert(string accountId) => new()
        {
            Account = new Account
            {
                AccountId = accountId,
                BorrowerName = "Li Wei",
                Location = new Location { CountryCode = "CN", TimeZone = "Asia/Shanghai" },
                ContactPoints = { new ContactPoint { ContactPointId = "cp-1", Kind = ContactPointKind.Phone, Use = ContactPointUse.Mobile, Value = "+86 138 0013 8000" } },
                Parties =
                {
                    new Party
                    {
                        PartyId = "p-1",
                        Role = PartyRole.EmergencyContact,
                        DisplayName = "Wang",
                        ContactPoints = { new ContactPoint { ContactPointId = "cp-2", Kind = ContactPointKind.Phone, Value = "139 0013 9000" } },
                    },
                },
            },
        };

        public static SetFlagRequest SetFlag(string accountId) => new() { AccountId = accountId, Flag = new Flag { Type = FlagType.ThirdPartyRefused, PartyId = "p-1" } };

        public static ContactRequest Contact(string accountId) => new()
        {
            AccountId = accountId,
            CollectorId = "collector-1",
            Channel = Channel.VoiceCall,
            Destination = new Destination { ContactPointId = "cp-1" },
        };

        public static Event Event(Random random, string accountId) => new()
        {
            EventId = $"fz-{random.NextInt64():x}",
            AccountId = accountId,
            CollectorId = "collector-1",
            OccurredAt = Timestamp.FromDateTimeOffset(Now.AddMinutes(-random.Next(600))),
            Channel = Channel.Sms,
            Destination = new Destination { ContactPointId = "cp-1" },
            MessageSent = new MessageSent { Body = "Please call us about your account. Reply STOP to opt out." },
        };
    }

    /// <summary>Mutates messages through protobuf reflection, so every field of every request type is reached.</summary>
    private sealed class Fuzzer(Random random)
    {
        private static readonly string Long = new('x', 40_000);

        public Random Random { get; } = random;

        public T Mutate<T>(T message) where T : IMessage
        {
            for (var i = Random.Next(0, 4); i > 0; i--)
            {
                MutateOne(message, depth: 0);
            }

            return message;
        }

        public byte[] Garbage()
        {
            var bytes = new byte[Random.Next(0, 64)];
            Random.NextBytes(bytes);
            return bytes;
        }

        private void MutateOne(IMessage message, int depth)
        {
            var fields = message.Descriptor.Fields.InFieldNumberOrder().Where(f => !f.IsMap).ToList();
            if (fields.Count == 0)
            {
                return;
            }

            var field = fields[Random.Next(fields.Count)];
            if (field.IsRepeated)
            {
                var list = (System.Collections.IList)field.Accessor.GetValue(message);
                var count = Random.Next(10) == 0 ? 101 : Random.Next(0, 3);
                if (Random.Next(3) == 0)
                {
                    list.Clear();
                }

                for (var i = 0; i < count; i++)
                {
                    list.Add(Value(field, depth));
                }

                return;
            }

            if (field.FieldType == FieldType.Message && depth < 3 && field.Accessor.GetValue(message) is IMessage nested && Random.Next(2) == 0
                && field.MessageType.FullName is not ("google.protobuf.Timestamp" or "google.protobuf.Duration"))
            {
                MutateOne(nested, depth + 1);
                return;
            }

            field.Accessor.SetValue(message, Value(field, depth));
        }

        private object Value(FieldDescriptor field, int depth) => field.FieldType switch
        {
            FieldType.String => String(),
            FieldType.Bool => Random.Next(2) == 0,
            FieldType.Enum => Pick(0, 1, 2, 3, 7, 20, 99, -1, int.MaxValue),
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(0, 1, -1, 500, 501, int.MaxValue, int.MinValue),
            FieldType.UInt32 or FieldType.Fixed32 => (uint)Pick(0, 1, 500, int.MaxValue),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => (long)Pick(0, 1, -1, int.MaxValue) * Pick(1, 1_000_000, -1),
            FieldType.UInt64 or FieldType.Fixed64 => (ulong)Pick(0, 1, int.MaxValue),
            FieldType.Double => new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity, 1e300 }[Random.Next(5)],
            FieldType.Float => new[] { 0f, -1f, float.NaN, float.MaxValue }[Random.Next(4)],
            FieldType.Bytes => ByteString.CopyFrom(Garbage()),
            _ => Message(field.MessageType, depth),
        };

        private IMessage Message(MessageDescriptor type, int depth)
        {
            if (type.FullName == "google.protobuf.Timestamp")
            {
                return Random.Next(6) switch
                {
                    0 => new Timestamp { Seconds = 1_700_000_000, Nanos = -1 },
                    1 => new Timestamp { Seconds = 300_000_000_000 },
                    2 => new Timestamp { Seconds = 253_370_764_800 },
                    3 => new Timestamp { Seconds = -62_135_596_800 },
                    4 => new Timestamp { Seconds = -1 },
                    _ => Timestamp.FromDateTimeOffset(Now.AddMinutes(Random.Next(-100_000, 100_000))),
                };
            }

            if (type.FullName == "google.protobuf.Duration")
            {
                return Random.Next(4) switch
                {
                    0 => new Duration { Seconds = 10, Nanos = -5 },
                    1 => new Duration { Seconds = -10 },
                    2 => new Duration { Seconds = 315_576_000_001 },
                    _ => new Duration { Seconds = Random.Next(0, 100_000) },
                };
            }

            var message = (IMessage)Activator.CreateInstance(type.ClrType)!;
            if (depth < 3)
            {
                for (var i = Random.Next(0, 3); i > 0; i--)
                {
                    MutateOne(message, depth + 1);
                }
            }

            return message;
        }

        private string String() => Random.Next(12) switch
        {
            0 => "",
            1 => Random.Next(4) == 0 ? Long : new string('x', 200),
            2 => "13900139000",
            3 => "+86 138 0013 8000",
            4 => "李伟\u0000\u202e",
            5 => "../../etc/passwd",
            6 => "fz-1",
            7 => "cp-1",
            8 => "Asia/Shanghai",
            9 => "A-" + new string('9', Random.Next(1, 300)),
            10 => "{ profiles: [CN] }\n" + new string('[', Random.Next(0, 500)),
            _ => new string((char)Random.Next(32, 127), Random.Next(0, 200)),
        };

        private int Pick(params int[] values) => values[Random.Next(values.Length)];
    }
}
