using Compliance.Api.V1;
using Compliance.Server.Gate;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Grpc.Core;

namespace Compliance.Server.Services;

/// <summary>The contact gate over gRPC: Authorize (check and reserve), Evaluate (dry run), release, look up.</summary>
internal sealed class ContactGateGrpcService(ContactGate gate, IGateStore store, Ingest.HistoryCache histories, TimeProvider clock) : ContactGateService.ContactGateServiceBase
{
    private const int MaxContactsPerEvaluate = 10_000;

    public override async Task<AuthorizeResponse> Authorize(AuthorizeRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var decision = await gate.AuthorizeAsync(caller.Lender, caller.KeyId, request.Contact, context.CancellationToken);
        return new AuthorizeResponse { Decision = GateMapping.ToProto(decision) };
    }

    public override async Task<EvaluateResponse> Evaluate(EvaluateRequest request, ServerCallContext context)
    {
        if (request.Contacts.Count == 0)
        {
            throw RpcErrors.InvalidArgument("contacts", "at least one contact is required");
        }

        if (request.Contacts.Count > MaxContactsPerEvaluate)
        {
            throw RpcErrors.InvalidArgument("contacts", $"at most {MaxContactsPerEvaluate} contacts per call");
        }

        var caller = context.Caller();
        var at = Proto.Time(request.At, "at") ?? clock.GetUtcNow();
        var decisions = await gate.EvaluateAsync(caller.Lender, caller.KeyId, request.Contacts, at, context.CancellationToken);
        var response = new EvaluateResponse();
        response.Decisions.AddRange(decisions.Select(GateMapping.ToProto));
        return response;
    }

    public override async Task<ReleaseReservationResponse> ReleaseReservation(ReleaseReservationRequest request, ServerCallContext context)
    {
        Validate.RequireId("decision_id", request.DecisionId);
        var lender = context.Caller().Lender;
        var borrower = await store.ReleaseReservationAsync(lender, request.DecisionId, clock.GetUtcNow(), context.CancellationToken);
        if (borrower is not null)
        {
            histories.Invalidate(lender, borrower);
        }

        return new ReleaseReservationResponse { Released = borrower is not null };
    }

    public override async Task<GetDecisionResponse> GetDecision(GetDecisionRequest request, ServerCallContext context)
    {
        Validate.RequireId("decision_id", request.DecisionId);
        var decision = await store.GetDecisionAsync(context.Caller().Lender, request.DecisionId, context.CancellationToken)
            ?? throw RpcErrors.NotFound("decision", request.DecisionId);
        return new GetDecisionResponse { Decision = GateMapping.ToProto(decision) };
    }
}
