using Compliance.Domain.Events;
using Compliance.Domain.Rules;

namespace Compliance.Domain.Tests.Events;

/// <summary>An attempt with its ids, as the store's rows carry them: what the tests put in a window state.</summary>
internal readonly record struct WindowRow(string AttemptId, string CallId, Attempt Attempt) : IAttemptRow;
