namespace Compliance.Domain.Policies;

/// <summary>One reason a policy or profile document was rejected, with the path of the offending key.</summary>
public sealed record PolicyProblem(string Path, string Message);

/// <summary>
/// A compiled policy, or every problem that prevented compiling it. <see cref="Overruled"/>: what a stored document
/// asked for that the catalog no longer allows and that was not applied (see <see cref="PolicyCompiler.CompileStored"/>).
/// </summary>
public sealed record PolicyCompileResult(CompiledPolicy? Policy, IReadOnlyList<PolicyProblem> Problems, IReadOnlyList<PolicyProblem>? Overruled = null)
{
    public bool Ok => Policy is not null;
}
