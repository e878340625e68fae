namespace Compliance.Domain.Policies;

/// <summary>One reason a policy or profile document was rejected, with the path of the offending key.</summary>
public sealed record PolicyProblem(string Path, string Message);

/// <summary>A compiled policy, or every problem that prevented compiling it.</summary>
public sealed record PolicyCompileResult(CompiledPolicy? Policy, IReadOnlyList<PolicyProblem> Problems)
{
    public bool Ok => Policy is not null;
}
