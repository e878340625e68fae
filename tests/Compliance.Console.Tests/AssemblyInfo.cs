// One server with the console for every test class: starting it and seeding two lenders takes seconds.
[assembly: AssemblyFixture(typeof(Compliance.Console.Tests.ConsoleServer))]
