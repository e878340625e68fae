using Compliance.Api.V1;
using Compliance.Server.Security;
using Microsoft.AspNetCore.Authorization;

namespace Compliance.Server.Services;

// Services of the v1 contract whose calls are not built yet. They are mapped so that reflection lists
// them and callers get UNIMPLEMENTED (from the generated base classes) rather than an unknown service.

[Authorize(Roles = Roles.Readers)]
internal sealed class ReportGrpcService : ReportService.ReportServiceBase;
