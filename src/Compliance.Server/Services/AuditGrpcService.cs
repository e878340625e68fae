using Compliance.Api.V1;
using Compliance.Domain.Ledger;
using Compliance.Server.Audit;
using Compliance.Server.Gate;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using ComplaintSource = Compliance.Api.V1.ComplaintSource;
using ComplaintStatus = Compliance.Api.V1.ComplaintStatus;
using Google.Protobuf;
using Grpc.Core;
using Model = Compliance.Storage;

namespace Compliance.Server.Services;

/// <summary>Verify the record chain, keep complaints, export evidence. Every evidence export is itself recorded.</summary>
internal sealed class AuditGrpcService(IComplianceStore store, LedgerAuditor auditor, EvidencePack evidence, AccountCache accounts, TimeProvider clock)
    : AuditService.AuditServiceBase
{
    private const int ChunkSize = 64 * 1024;

    public override async Task<VerifyResponse> Verify(VerifyRequest request, ServerCallContext context)
    {
        var from = Proto.Time(request.From, "from") ?? DateTimeOffset.UnixEpoch;
        var to = Proto.Time(request.To, "to") ?? clock.GetUtcNow().AddDays(1);
        var lender = context.Caller().Lender;
        var result = await auditor.VerifyAsync(lender, from, to, context.CancellationToken, KeptCheckpoints(request, lender));
        return new VerifyResponse
        {
            Valid = result.Valid,
            EntriesChecked = result.EntriesChecked,
            CheckpointsChecked = result.CheckpointsChecked,
            FirstBadSequence = result.FirstBadSeq,
            Reason = result.Reason,
        };
    }

    /// <summary>The most checkpoints one Verify may carry.</summary>
    private const int KeptCheckpointsLimit = 1_000;

    /// <summary>The caller's kept checkpoints, checked for shape (the signature is the verifier's to judge).</summary>
    private static List<Checkpoint> KeptCheckpoints(VerifyRequest request, string lender)
    {
        var errors = new List<FieldError>();
        Validate.Count(errors, "checkpoints", request.Checkpoints.Count, KeptCheckpointsLimit);
        errors.ThrowIfAny();
        var kept = new List<Checkpoint>(request.Checkpoints.Count);
        for (var i = 0; i < request.Checkpoints.Count; i++)
        {
            var c = request.Checkpoints[i];
            var field = $"checkpoints[{i}]";
            if (c.LenderId.Length > 0 && c.LenderId != lender)
            {
                errors.Add(new FieldError($"{field}.lender_id", c.LenderId.Length > 128 ? "must be at most 128 characters" : "must be empty or the caller's lender"));
            }

            if (c.Sequence < 1)
            {
                errors.Add(new FieldError($"{field}.sequence", "must be 1 or more"));
            }

            if (c.Hash.Length != 64 || !c.Hash.All(char.IsAsciiHexDigit))
            {
                errors.Add(new FieldError($"{field}.hash", "must be 64 hexadecimal characters"));
            }

            if (c.Signature.Length is 0 or > 256)
            {
                errors.Add(new FieldError($"{field}.signature", "must be 1 to 256 bytes"));
            }

            var signedAt = Validate.Time(errors, $"{field}.signed_at", c.SignedAt);
            if (c.SignedAt is null)
            {
                errors.Add(new FieldError($"{field}.signed_at", "is required"));
            }

            if (errors.Count == 0)
            {
                kept.Add(new Checkpoint(lender, c.Sequence, Convert.FromHexString(c.Hash), signedAt!.Value, false, c.Signature.ToByteArray()));
            }
        }

        errors.ThrowIfAny();
        return kept;
    }

    public override async Task<RecordComplaintResponse> RecordComplaint(RecordComplaintRequest request, ServerCallContext context)
    {
        var c = request.Complaint ?? throw RpcErrors.InvalidArgument("complaint", "is required");
        var errors = new List<FieldError>();
        Validate.Defined(errors, "complaint.source", c.Source);
        Validate.Id(errors, "complaint.account_id", c.AccountId);
        Validate.Text(errors, "complaint.reference", c.Reference, 256);
        Validate.Text(errors, "complaint.text", c.Text, 20_000);
        errors.ThrowIfAny();
        var lender = context.Caller().Lender;
        if (await accounts.AccountAsync(lender, c.AccountId, context.CancellationToken) is null)
        {
            throw RpcErrors.NotFound("account", c.AccountId);
        }

        var now = clock.GetUtcNow();
        var received = Proto.Time(c.ReceivedAt, "complaint.received_at") ?? now;
        var due = Proto.Time(c.DueAt, "complaint.due_at") ?? (c.Source == ComplaintSource.RegulatorHotline ? AddWorkingDays(received, 15) : null);
        var complaint = await store.AddComplaintAsync(new Model.Complaint(lender, $"cmpl_{Guid.CreateVersion7():N}", (Model.ComplaintSource)c.Source, c.Reference,
            c.AccountId, received, c.Text, Model.ComplaintStatus.Received, due, now, now), context.CancellationToken);
        return new RecordComplaintResponse { Complaint = ToProto(complaint) };
    }

    public override async Task<GetComplaintResponse> GetComplaint(GetComplaintRequest request, ServerCallContext context) =>
        new() { Complaint = ToProto(await RequireComplaintAsync(request.ComplaintId, "complaint_id", context)) };

    public override async Task<ListComplaintsResponse> ListComplaints(ListComplaintsRequest request, ServerCallContext context)
    {
        var (limit, after) = Paging.Read(request.PageSize, request.PageToken);
        var page = await store.ListComplaintsAsync(context.Caller().Lender, (Model.ComplaintStatus)request.Status, limit, after, context.CancellationToken);
        var response = new ListComplaintsResponse { NextPageToken = Paging.Token(page.NextAfter) };
        response.Complaints.AddRange(page.Items.Select(ToProto));
        return response;
    }

    public override async Task<UpdateComplaintStatusResponse> UpdateComplaintStatus(UpdateComplaintStatusRequest request, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "complaint_id", request.ComplaintId);
        Validate.Defined(errors, "status", request.Status);
        Validate.Text(errors, "note", request.Note, 2000);
        errors.ThrowIfAny();
        var caller = context.Caller();
        var complaint = await store.UpdateComplaintStatusAsync(caller.Lender, request.ComplaintId, (Model.ComplaintStatus)request.Status, request.Note,
            clock.GetUtcNow(), caller.KeyId, context.CancellationToken) ?? throw RpcErrors.NotFound("complaint", request.ComplaintId);
        return new UpdateComplaintStatusResponse { Complaint = ToProto(complaint) };
    }

    public override async Task ExportEvidence(ExportEvidenceRequest request, IServerStreamWriter<ExportEvidenceResponse> responseStream, ServerCallContext context)
    {
        var errors = new List<FieldError>();
        Validate.Id(errors, "account_id", request.AccountId);
        Validate.Id(errors, "complaint_id", request.ComplaintId, required: false);
        errors.ThrowIfAny();
        var caller = context.Caller();
        var ct = context.CancellationToken;
        var account = await store.GetAccountAsync(caller.Lender, request.AccountId, ct) ?? throw RpcErrors.NotFound("account", request.AccountId);
        var complaint = request.ComplaintId.Length > 0 ? await RequireComplaintAsync(request.ComplaintId, "complaint_id", context) : null;
        var now = clock.GetUtcNow();
        var from = Proto.Time(request.PeriodStart, "period_start") ?? complaint?.ReceivedAt.AddDays(-90) ?? now.AddDays(-90);
        var to = Proto.Time(request.PeriodEnd, "period_end") ?? now.AddMilliseconds(1);
        Validate.Period(from, to);

        // The read is recorded before anything is handed out.
        await store.AppendAsync(caller.Lender, LedgerKind.EvidenceRead, complaint?.ComplaintId ?? $"export:{Guid.CreateVersion7():N}", account.AccountId, now,
            new { by = caller.KeyId, role = caller.Role, accountId = account.AccountId, from, to, complaintId = complaint?.ComplaintId ?? "" }, ct);
        var bundle = await evidence.BuildAsync(account, from, to, complaint, now, ct);
        var fileName = $"evidence-{account.AccountId}-{now:yyyyMMddTHHmmssZ}.zip";
        for (var offset = 0; offset < bundle.Length; offset += ChunkSize)
        {
            var chunk = new ExportEvidenceResponse { Chunk = ByteString.CopyFrom(bundle, offset, Math.Min(ChunkSize, bundle.Length - offset)) };
            if (offset == 0)
            {
                chunk.FileName = fileName;
            }

            await responseStream.WriteAsync(chunk, ct);
        }
    }

    private async Task<Model.Complaint> RequireComplaintAsync(string complaintId, string field, ServerCallContext context)
    {
        Validate.RequireId(field, complaintId);
        return await store.GetComplaintAsync(context.Caller().Lender, complaintId, context.CancellationToken) ?? throw RpcErrors.NotFound("complaint", complaintId);
    }

    /// <summary>Monday-to-Friday days after a date (public holidays are not known here and are not skipped).</summary>
    internal static DateTimeOffset AddWorkingDays(DateTimeOffset start, int days)
    {
        var at = start;
        while (days > 0)
        {
            at = at.AddDays(1);
            if (at.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                days--;
            }
        }

        return at;
    }

    private static Api.V1.Complaint ToProto(Model.Complaint c) => new()
    {
        ComplaintId = c.ComplaintId,
        Source = (ComplaintSource)c.Source,
        Reference = c.Reference,
        AccountId = c.AccountId,
        ReceivedAt = Proto.Time(c.ReceivedAt),
        Text = c.Text,
        Status = (ComplaintStatus)c.Status,
        DueAt = Proto.Time(c.DueAt),
    };
}
