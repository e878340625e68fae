using Compliance.Api.V1;
using Compliance.Server.Gate;
using Compliance.Server.Infrastructure;
using Compliance.Server.Mapping;
using Compliance.Server.Security;
using Compliance.Storage;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Model = Compliance.Domain.Policies;

namespace Compliance.Server.Services;

/// <summary>Built-in profiles and each lender's versioned policy.</summary>
[Authorize]
internal sealed class PolicyGrpcService(IPolicyStore store, PolicyRegistry registry, PolicyPreview preview, TimeProvider clock) : PolicyService.PolicyServiceBase
{
    public override Task<ListProfilesResponse> ListProfiles(ListProfilesRequest request, ServerCallContext context)
    {
        var response = new ListProfilesResponse();
        response.Profiles.AddRange(Model.ProfileCatalog.BuiltIn.Profiles.Select(ToProto));
        return Task.FromResult(response);
    }

    public override Task<GetProfileResponse> GetProfile(GetProfileRequest request, ServerCallContext context)
    {
        var profile = Model.ProfileCatalog.BuiltIn.Find(request.ProfileId) ?? throw RpcErrors.NotFound("profile", request.ProfileId);
        return Task.FromResult(new GetProfileResponse { Profile = ToProto(profile) });
    }

    public override async Task<GetPolicyResponse> GetPolicy(GetPolicyRequest request, ServerCallContext context)
    {
        var lenderId = context.Caller().Lender;
        var at = Proto.Time(request.At) ?? clock.GetUtcNow();
        var inForce = registry.For(lenderId, at);
        var stored = (await store.ListPoliciesAsync(lenderId, context.CancellationToken)).FirstOrDefault(p => p.Version.ToString() == inForce.Version);
        return new GetPolicyResponse
        {
            Policy = stored is null
                ? new Policy { Version = inForce.Version, Document = "", EffectiveAt = Proto.Time(DateTimeOffset.UnixEpoch) }
                : ToProto(stored),
        };
    }

    public override async Task<ListPolicyVersionsResponse> ListPolicyVersions(ListPolicyVersionsRequest request, ServerCallContext context)
    {
        var response = new ListPolicyVersionsResponse();
        response.Policies.AddRange((await store.ListPoliciesAsync(context.Caller().Lender, context.CancellationToken)).Select(ToProto));
        return response;
    }

    [Authorize(Roles = Roles.Administrator)]
    public override async Task<PutPolicyResponse> PutPolicy(PutPolicyRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var now = clock.GetUtcNow();
        var effectiveAt = Proto.Time(request.EffectiveAt) ?? now;
        CompileOrThrow(request.Document, "candidate", effectiveAt);
        var stored = await store.AddPolicyAsync(caller.Lender, request.Document, effectiveAt, now, caller.KeyId, context.CancellationToken);
        await registry.RefreshAsync(context.CancellationToken);
        return new PutPolicyResponse { Policy = ToProto(stored) };
    }

    public override Task<ValidatePolicyResponse> ValidatePolicy(ValidatePolicyRequest request, ServerCallContext context)
    {
        var result = Model.PolicyCompiler.Compile(request.Document, "candidate", clock.GetUtcNow(), Model.ProfileCatalog.BuiltIn);
        var response = new ValidatePolicyResponse { Valid = result.Ok };
        response.Problems.AddRange(result.Problems.Select(p => new Api.V1.PolicyProblem { Path = p.Path, Message = p.Message }));
        return Task.FromResult(response);
    }

    [Authorize(Roles = $"{Roles.Administrator},{Roles.ComplianceOfficer}")]
    public override async Task<PreviewPolicyResponse> PreviewPolicy(PreviewPolicyRequest request, ServerCallContext context)
    {
        var now = clock.GetUtcNow();
        var from = Proto.Time(request.PeriodStart) ?? now.AddDays(-7);
        var to = Proto.Time(request.PeriodEnd) ?? now;
        Validate.Period(from, to);
        var compiled = CompileOrThrow(request.Document, "preview", from);
        var lender = context.Caller().Lender;
        var result = await preview.RunAsync(lender, registry.For(lender, now), compiled, from, to, context.CancellationToken);
        var response = new PreviewPolicyResponse { DecisionsReplayed = result.Replayed, NewlyDenied = result.NewlyDenied, NewlyAllowed = result.NewlyAllowed };
        response.NewlyDeniedByRule.Add(result.NewlyDeniedByRule.ToDictionary());
        return response;
    }

    private static Policy ToProto(StoredPolicy p) => new()
    {
        Version = p.Version.ToString(),
        EffectiveAt = Proto.Time(p.EffectiveAt),
        CreatedAt = Proto.Time(p.CreatedAt),
        Document = p.Document,
        CreatedBy = p.CreatedBy,
    };

    private static Api.V1.Profile ToProto(Model.Profile p)
    {
        var profile = new Api.V1.Profile
        {
            ProfileId = p.Id,
            Title = p.Title,
            Version = p.Version,
            Required = p.Required,
            Records = p.Records is { } records ? new RecordKeeping { KeepDays = records.KeepDays, Citation = records.Citation } : null,
            Scoring = p.Scoring is { } w ? new RiskWeights { Critical = w.Critical, High = w.High, Medium = w.Medium, Low = w.Low, ShadowShare = w.ShadowShare } : null,
        };
        profile.AppliesTo.AddRange(p.AppliesTo);
        profile.PostalCodes.AddRange(p.PostalCodes ?? []);
        profile.InForceFrom = Proto.Time(p.InForceFrom);
        profile.Rules.AddRange(p.Rules.Select(r =>
        {
            var rule = new Rule { RuleId = r.Id, Citation = r.Citation, Description = r.Description, Shadow = r.Shadow };
            rule.Parameters.Add(r.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value));
            return rule;
        }));
        return profile;
    }

    /// <summary>The compiled document, or INVALID_ARGUMENT naming every problem by its path in the document.</summary>
    private static Model.CompiledPolicy CompileOrThrow(string document, string version, DateTimeOffset effectiveAt)
    {
        var result = Model.PolicyCompiler.Compile(document, version, effectiveAt, Model.ProfileCatalog.BuiltIn);
        return result.Policy ?? throw RpcErrors.InvalidArgument(result.Problems.Select(p => new FieldError($"document: {p.Path}", p.Message)).ToList());
    }
}
