using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Compliance.Storage.Tests.TSql;

/// <summary>A column as the schema scripts leave it.</summary>
internal sealed record SchemaColumn(string Name, SqlType Type, string Declared, bool Nullable, string? Collation);

/// <summary>
/// The SQL Server schema, built by applying the provider's scripts in order (tables, columns, keys, indexes), and the
/// checks every statement the dialect sends must pass: it parses (TSql160Parser), names only tables and columns the
/// schema has, binds every parameter it uses, and contains nothing of SQLite's dialect.
/// </summary>
internal sealed class SqlServerSchema
{
    private static readonly StringComparer Names = StringComparer.OrdinalIgnoreCase;

    public Dictionary<string, Dictionary<string, SchemaColumn>> Tables { get; } = new(Names);

    /// <summary>Index and key name -> table and columns. Keys made without a name are listed as "pk:table".</summary>
    public Dictionary<string, (string Table, List<string> Columns)> Indexes { get; } = new(Names);

    /// <summary>Foreign keys, as "table(column) -> table(column)", with the script that made them.</summary>
    public List<(string Key, string Script)> ForeignKeys { get; } = [];

    /// <summary>Primary keys made (or made again) by each script: script -> table -> columns.</summary>
    public Dictionary<string, Dictionary<string, List<string>>> PrimaryKeysByScript { get; } = new(Names);

    public List<string> Problems { get; } = [];

    /// <summary>Parses T-SQL as SQL Server 2022 does; the errors, if any, as readable lines.</summary>
    public static TSqlFragment Parse(string sql, out List<string> errors)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        var fragment = parser.Parse(reader, out var parseErrors);
        errors = parseErrors.Select(e => $"line {e.Line}, column {e.Column}: {e.Message}").ToList();
        return fragment;
    }

    /// <summary>Applies one migration script (split into batches at "GO", as the store does), checking its DML against the schema as it stands.</summary>
    public void Apply(string script, string text)
    {
        PrimaryKeysByScript[script] = new(Names);
        var fragment = Parse(text, out var errors);
        Problems.AddRange(errors.Select(e => $"{script}: {e}"));
        if (errors.Count > 0 || fragment is not TSqlScript parsed)
        {
            return;
        }

        foreach (var statement in parsed.Batches.SelectMany(b => Flatten(b.Statements)))
        {
            switch (statement)
            {
                case CreateTableStatement create:
                    AddTable(script, create);
                    break;
                case AlterTableAddTableElementStatement add:
                    AddElements(script, Name(add.SchemaObjectName), add.Definition);
                    break;
                case AlterTableAlterColumnStatement alter:
                    AlterColumn(script, alter);
                    break;
                case CreateIndexStatement index:
                    Indexes[index.Name.Value] = (Name(index.OnName), index.Columns.Select(c => Last(c.Column)).ToList());
                    CheckColumns(script, Name(index.OnName), Indexes[index.Name.Value].Columns);
                    break;
                case DropIndexStatement drop:
                    foreach (var clause in drop.DropIndexClauses.OfType<DropIndexClause>())
                    {
                        if (!Indexes.Remove(clause.Index.Value))
                        {
                            Problems.Add($"{script}: drops index {clause.Index.Value}, which no script made");
                        }
                    }

                    break;
                case DropTableStatement dropTable:
                    foreach (var table in dropTable.Objects)
                    {
                        Tables.Remove(Name(table));
                        foreach (var index in Indexes.Where(i => Names.Equals(i.Value.Table, Name(table))).ToList())
                        {
                            Indexes.Remove(index.Key);
                        }
                    }

                    break;
                default:
                    Problems.AddRange(CheckNames(statement).Select(p => $"{script}: {p}"));
                    break;
            }
        }
    }

    /// <summary>The statements of a batch, with those inside IF and BEGIN...END (as "create the table if missing").</summary>
    private static IEnumerable<TSqlStatement> Flatten(IEnumerable<TSqlStatement> statements)
    {
        foreach (var statement in statements)
        {
            switch (statement)
            {
                case IfStatement branch:
                    foreach (var inner in Flatten([branch.ThenStatement, .. branch.ElseStatement is { } e ? [e] : Array.Empty<TSqlStatement>()]))
                    {
                        yield return inner;
                    }

                    break;
                case BeginEndBlockStatement block:
                    foreach (var inner in Flatten(block.StatementList.Statements))
                    {
                        yield return inner;
                    }

                    break;
                default:
                    yield return statement;
                    break;
            }
        }
    }

    private void AddTable(string script, CreateTableStatement create)
    {
        var table = Name(create.SchemaObjectName);
        if (!Tables.TryAdd(table, new(Names)))
        {
            Problems.Add($"{script}: table {table} is made twice");
        }

        AddElements(script, table, create.Definition);
    }

    private void AddElements(string script, string table, TableDefinition definition)
    {
        if (!Tables.TryGetValue(table, out var columns))
        {
            Problems.Add($"{script}: changes table {table}, which does not exist");
            return;
        }

        foreach (var c in definition.ColumnDefinitions)
        {
            var nullable = c.Constraints.OfType<NullableConstraintDefinition>().All(n => n.Nullable);
            columns[c.ColumnIdentifier.Value] = new SchemaColumn(c.ColumnIdentifier.Value, TypeOf(c.DataType), Declared(c.DataType), nullable, c.Collation?.Value);
            foreach (var constraint in c.Constraints)
            {
                if (constraint is UniqueConstraintDefinition { IsPrimaryKey: true })
                {
                    AddPrimaryKey(script, table, [c.ColumnIdentifier.Value]);
                }
                else if (constraint is ForeignKeyConstraintDefinition fk)
                {
                    ForeignKeys.Add(($"{table}({c.ColumnIdentifier.Value}) -> {Name(fk.ReferenceTableName)}({string.Join(", ", fk.ReferencedTableColumns.Select(i => i.Value))})", script));
                }
            }
        }

        foreach (var constraint in definition.TableConstraints)
        {
            if (constraint is UniqueConstraintDefinition { IsPrimaryKey: true } pk)
            {
                AddPrimaryKey(script, table, pk.Columns.Select(c => Last(c.Column)).ToList());
            }
            else if (constraint is ForeignKeyConstraintDefinition fk)
            {
                ForeignKeys.Add(($"{table}({string.Join(", ", fk.Columns.Select(i => i.Value))}) -> {Name(fk.ReferenceTableName)}({string.Join(", ", fk.ReferencedTableColumns.Select(i => i.Value))})", script));
            }
        }
    }

    private void AddPrimaryKey(string script, string table, List<string> columns)
    {
        CheckColumns(script, table, columns);
        Indexes[$"pk:{table}"] = (table, columns);
        PrimaryKeysByScript[script][table] = columns;
    }

    private void AlterColumn(string script, AlterTableAlterColumnStatement alter)
    {
        var table = Name(alter.SchemaObjectName);
        var name = alter.ColumnIdentifier.Value;
        if (!Tables.TryGetValue(table, out var columns) || !columns.TryGetValue(name, out var before))
        {
            Problems.Add($"{script}: alters {table}.{name}, which does not exist");
            return;
        }

        var nullable = alter.AlterTableAlterColumnOption != AlterTableAlterColumnOption.NotNull;
        var after = new SchemaColumn(name, TypeOf(alter.DataType), Declared(alter.DataType), nullable, alter.Collation?.Value);
        // A collation change must not change the column otherwise: its type, length and nullability are restated.
        if (after.Declared != before.Declared || after.Nullable != before.Nullable)
        {
            Problems.Add($"{script}: {table}.{name} was {before.Declared}{(before.Nullable ? " NULL" : " NOT NULL")}, becomes {after.Declared}{(after.Nullable ? " NULL" : " NOT NULL")}");
        }

        columns[name] = after;
    }

    private void CheckColumns(string script, string table, IEnumerable<string> columns)
    {
        foreach (var column in columns)
        {
            if (!Tables.TryGetValue(table, out var known) || !known.ContainsKey(column))
            {
                Problems.Add($"{script}: {table}.{column} does not exist");
            }
        }
    }

    // ---- statements ----

    /// <summary>Every problem of one command text the store sends: parse errors, unknown names, SQLite's dialect.</summary>
    public List<string> Check(string sql, IReadOnlyCollection<string>? boundParameters)
    {
        var fragment = Parse(sql, out var problems);
        problems.AddRange(SqliteOnly(fragment));
        if (problems.Count > 0)
        {
            return problems;
        }

        foreach (var statement in ((TSqlScript)fragment).Batches.SelectMany(b => b.Statements))
        {
            problems.AddRange(CheckNames(statement));
        }

        if (boundParameters is not null)
        {
            // Declared variables and the names of a procedure's parameters (EXEC p @Name = value) need no binding.
            var declared = new HashSet<string>(Names);
            var used = new HashSet<string>(Names);
            fragment.Accept(new Visitor(node =>
            {
                switch (node)
                {
                    case DeclareVariableElement d:
                        declared.Add(d.VariableName.Value);
                        break;
                    case ExecuteParameter { Variable: { } named }:
                        declared.Add(named.Name);
                        break;
                    case VariableReference v:
                        used.Add(v.Name);
                        break;
                }
            }));
            problems.AddRange(used.Where(v => !declared.Contains(v) && !boundParameters.Contains(v))
                .Select(v => $"uses {v}, which the command does not bind (\"Must declare the scalar variable\")"));
        }

        return problems;
    }

    /// <summary>
    /// Tokens of SQLite's dialect that SQL Server rejects or reads otherwise. Checked on tokens, not on the tree: the
    /// parser takes "a || b" for two operators, and an unknown word in a known place parses as a name.
    /// </summary>
    public static IEnumerable<string> SqliteOnly(TSqlFragment fragment)
    {
        var words = new HashSet<string>(Names)
        {
            "LIMIT", "AUTOINCREMENT", "RETURNING", "CONFLICT", "PRAGMA", "GLOB", "IFNULL", "STRFTIME", "ROWID", "EXCLUDED", "IMMEDIATE",
            "JSON_EACH", "JSON_EXTRACT", "SUBSTR", "INSTR", "RANDOMBLOB", "UNIXEPOCH", "JULIANDAY", "TOTAL_CHANGES", "LAST_INSERT_ROWID",
        };
        var tokens = (fragment.ScriptTokenStream ?? []).Where(t => t.TokenType is not (TSqlTokenType.WhiteSpace or TSqlTokenType.SingleLineComment or TSqlTokenType.MultilineComment)).ToList();
        for (var i = 0; i < tokens.Count; i++)
        {
            var text = tokens[i].Text ?? "";
            var next = i + 1 < tokens.Count ? tokens[i + 1].Text ?? "" : "";
            if (text == "||" || (text == "|" && next == "|"))
            {
                yield return $"line {tokens[i].Line}: '||' (SQLite's concatenation; SQL Server's is '+')";
            }
            else if (tokens[i].TokenType == TSqlTokenType.Identifier && words.Contains(text))
            {
                yield return $"line {tokens[i].Line}: {text} (SQLite's dialect)";
            }
            else if (Names.Equals(text, "INSERT") && Names.Equals(next, "OR"))
            {
                yield return $"line {tokens[i].Line}: INSERT OR (SQLite's dialect)";
            }
            else if (Names.Equals(text, "REPLACE") && Names.Equals(next, "INTO"))
            {
                yield return $"line {tokens[i].Line}: REPLACE INTO (SQLite's dialect)";
            }
        }
    }

    /// <summary>Tables and columns a statement names that the schema does not have.</summary>
    public List<string> CheckNames(TSqlFragment statement)
    {
        var problems = new List<string>();
        var aliases = new Dictionary<string, Dictionary<string, SchemaColumn>>(Names);
        var inScope = new List<Dictionary<string, SchemaColumn>>();
        var opaque = false;
        var insertTargets = new List<(string Table, IList<ColumnReferenceExpression> Columns)>();
        var mergeAliases = new List<(string Alias, string Table)>();
        var derivedTables = new List<(string Alias, QuerySpecification Query)>();
        statement.Accept(new Visitor(node =>
        {
            switch (node)
            {
                case NamedTableReference { SchemaObject.SchemaIdentifier: not null }:
                    opaque = true; // the catalog (sys.*): not this schema's
                    break;
                case NamedTableReference named:
                    var name = Name(named.SchemaObject);
                    if (!Tables.TryGetValue(name, out var columns))
                    {
                        problems.Add($"table {name} does not exist");
                        break;
                    }

                    aliases[name] = columns;
                    if (named.Alias is not null)
                    {
                        aliases[named.Alias.Value] = columns;
                    }

                    inScope.Add(columns);
                    break;
                case OpenJsonTableReference:
                    inScope.Add(OpenJsonColumns);
                    break;
                case VariableTableReference or SchemaObjectFunctionTableReference:
                    opaque = true;
                    break;
                case InsertSpecification { Target: NamedTableReference target } insert:
                    insertTargets.Add((Name(target.SchemaObject), insert.Columns));
                    break;
                case MergeSpecification { Target: NamedTableReference mergeTarget, TableAlias: { } mergeAlias }:
                    mergeAliases.Add((mergeAlias.Value, Name(mergeTarget.SchemaObject)));
                    break;
                case QueryDerivedTable { Alias: { } derivedAlias, QueryExpression: QuerySpecification derivedQuery }:
                    derivedTables.Add((derivedAlias.Value, derivedQuery));
                    break;
            }
        }));
        if (opaque)
        {
            return problems;
        }

        // A MERGE's target alias names its table; a derived table's alias names the columns its select list gives.
        foreach (var (alias, table) in mergeAliases)
        {
            if (Tables.TryGetValue(table, out var columns))
            {
                aliases[alias] = columns;
            }
        }

        foreach (var (alias, query) in derivedTables)
        {
            var columns = new Dictionary<string, SchemaColumn>(StringComparer.OrdinalIgnoreCase);
            foreach (var element in query.SelectElements.OfType<SelectScalarExpression>())
            {
                if (element.Expression is ColumnReferenceExpression { MultiPartIdentifier: { } selected }
                    && inScope.Select(t => t.GetValueOrDefault(selected.Identifiers[^1].Value)).FirstOrDefault(c => c is not null) is { } column)
                {
                    columns[element.ColumnName?.Value ?? selected.Identifiers[^1].Value] = column;
                }
                else if (element is { ColumnName: { } named, Expression: FunctionCall { FunctionName.Value: var function, OverClause: not null } }
                    && string.Equals(function, "ROW_NUMBER", StringComparison.OrdinalIgnoreCase))
                {
                    // A window's row number, named by the select list: SQL Server types it BIGINT.
                    columns[named.Value] = new SchemaColumn(named.Value, SqlType.BigInt, "BIGINT", false, null);
                }
            }

            aliases[alias] = columns;
        }

        statement.Accept(new Visitor(node =>
        {
            if (node is not ColumnReferenceExpression { ColumnType: Microsoft.SqlServer.TransactSql.ScriptDom.ColumnType.Regular, MultiPartIdentifier: { } id })
            {
                return;
            }

            var column = id.Identifiers[^1].Value;
            if (id.Identifiers.Count > 1)
            {
                var qualifier = id.Identifiers[^2].Value;
                if (!aliases.TryGetValue(qualifier, out var table))
                {
                    problems.Add($"{qualifier}.{column}: no table or alias {qualifier}");
                }
                else if (!table.ContainsKey(column))
                {
                    problems.Add($"column {qualifier}.{column} does not exist");
                }
            }
            else if (!inScope.Any(t => t.ContainsKey(column)))
            {
                problems.Add($"column {column} is in none of the statement's tables");
            }
        }));
        // Two columns compared must share a collation (an explicit COLLATE settles it): SQL Server refuses to compare
        // two implicit collations that differ (error 468), as a binary id with text of the database's collation.
        SchemaColumn? Resolve(ScalarExpression? e)
        {
            if (e is not ColumnReferenceExpression { ColumnType: Microsoft.SqlServer.TransactSql.ScriptDom.ColumnType.Regular, Collation: null, MultiPartIdentifier: { } id })
            {
                return null;
            }

            var name = id.Identifiers[^1].Value;
            if (id.Identifiers.Count > 1)
            {
                return aliases.TryGetValue(id.Identifiers[^2].Value, out var t) && t.TryGetValue(name, out var c) ? c : null;
            }

            return inScope.Select(t => t.GetValueOrDefault(name)).FirstOrDefault(c => c is not null);
        }

        void Compare(ScalarExpression? left, ScalarExpression? right)
        {
            if (Resolve(left) is { Type: SqlType.NVarChar } a && Resolve(right) is { Type: SqlType.NVarChar } b
                && !string.Equals(a.Collation ?? "", b.Collation ?? "", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"collation conflict: {a.Name} ({a.Collation ?? "the database's"}) compared with {b.Name} ({b.Collation ?? "the database's"})");
            }
        }

        statement.Accept(new Visitor(node =>
        {
            switch (node)
            {
                case BooleanComparisonExpression comparison:
                    Compare(comparison.FirstExpression, comparison.SecondExpression);
                    break;
                case InPredicate { Subquery.QueryExpression: QuerySpecification { SelectElements: [SelectScalarExpression first, ..] } } inList:
                    Compare(inList.Expression, first.Expression);
                    break;
            }
        }));

        foreach (var (table, columns) in insertTargets)
        {
            foreach (var column in columns.Select(c => c.MultiPartIdentifier.Identifiers[^1].Value))
            {
                if (Tables.TryGetValue(table, out var known) && !known.ContainsKey(column))
                {
                    problems.Add($"column {table}.{column} does not exist");
                }
            }
        }

        return problems;
    }

    // ---- result types ----

    /// <summary>The columns of the first result set a command returns, typed as SQL Server types them.</summary>
    public IReadOnlyList<(string Name, SqlType Type)> ResultColumns(string sql)
    {
        var fragment = Parse(sql, out var errors);
        if (errors.Count > 0)
        {
            return [];
        }

        var select = ((TSqlScript)fragment).Batches.SelectMany(b => b.Statements).OfType<SelectStatement>().FirstOrDefault(s => s.Into is null);
        return select is null ? [] : Columns(select.QueryExpression, []);
    }

    /// <summary>Whether a command's first result is a SELECT without FROM, which returns its one row from any database.</summary>
    public bool AlwaysARow(string sql)
    {
        var fragment = Parse(sql, out var errors);
        return errors.Count == 0
            && ((TSqlScript)fragment).Batches.SelectMany(b => b.Statements).OfType<SelectStatement>().FirstOrDefault(s => s.Into is null)
                is { QueryExpression: QuerySpecification { FromClause: null } };
    }

    private List<(string Name, SqlType Type)> Columns(QueryExpression query, List<Dictionary<string, Dictionary<string, SchemaColumn>>> outer)
    {
        while (query is not QuerySpecification)
        {
            query = query switch
            {
                BinaryQueryExpression union => union.FirstQueryExpression,
                QueryParenthesisExpression parenthesis => parenthesis.QueryExpression,
                _ => throw new InvalidOperationException($"Cannot type a {query.GetType().Name}."),
            };
        }

        var spec = (QuerySpecification)query;
        var scope = new Dictionary<string, Dictionary<string, SchemaColumn>>(Names);
        foreach (var reference in spec.FromClause?.TableReferences ?? [])
        {
            AddToScope(reference, scope);
        }

        List<Dictionary<string, Dictionary<string, SchemaColumn>>> scopes = [scope, .. outer];
        return spec.SelectElements.Select(e => e is SelectScalarExpression s
                ? (s.ColumnName?.Value ?? (s.Expression as ColumnReferenceExpression)?.MultiPartIdentifier.Identifiers[^1].Value ?? "", TypeOf(s.Expression, scopes))
                : ("*", SqlType.Unknown))
            .ToList();
    }

    private void AddToScope(TableReference reference, Dictionary<string, Dictionary<string, SchemaColumn>> scope)
    {
        switch (reference)
        {
            case NamedTableReference named when Tables.TryGetValue(Name(named.SchemaObject), out var columns):
                scope[named.Alias?.Value ?? Name(named.SchemaObject)] = columns;
                break;
            case OpenJsonTableReference json:
                scope[json.Alias?.Value ?? "openjson"] = OpenJsonColumns;
                break;
            case JoinTableReference join:
                AddToScope(join.FirstTableReference, scope);
                AddToScope(join.SecondTableReference, scope);
                break;
        }
    }

    /// <summary>OPENJSON without a WITH clause: key NVARCHAR(4000), value NVARCHAR(MAX), type INT.</summary>
    private static readonly Dictionary<string, SchemaColumn> OpenJsonColumns = new(Names)
    {
        ["key"] = new("key", SqlType.NVarChar, "NVARCHAR(4000)", false, null),
        ["value"] = new("value", SqlType.NVarChar, "NVARCHAR(MAX)", true, null),
        ["type"] = new("type", SqlType.Int, "INT", false, null),
    };

    /// <summary>The type SQL Server gives an expression (the few forms the store uses; others are Unknown, which fails the test).</summary>
    private SqlType TypeOf(ScalarExpression expression, List<Dictionary<string, Dictionary<string, SchemaColumn>>> scopes) => expression switch
    {
        ColumnReferenceExpression column => ColumnType(column, scopes),
        IntegerLiteral literal => long.Parse(literal.Value) is >= int.MinValue and <= int.MaxValue ? SqlType.Int : SqlType.Unknown,
        RealLiteral => SqlType.Float,
        StringLiteral => SqlType.NVarChar,
        CastCall cast => TypeOf(cast.DataType),
        ConvertCall convert => TypeOf(convert.DataType),
        ParenthesisExpression p => TypeOf(p.Expression, scopes),
        UnaryExpression u => TypeOf(u.Expression, scopes),
        BinaryExpression b => Highest(TypeOf(b.FirstExpression, scopes), TypeOf(b.SecondExpression, scopes)),
        CoalesceExpression c => c.Expressions.Where(e => e is not NullLiteral).Select(e => TypeOf(e, scopes)).Aggregate(Highest),
        SearchedCaseExpression c => c.WhenClauses.Select(w => w.ThenExpression).Append(c.ElseExpression).Where(e => e is not null and not NullLiteral)
            .Select(e => TypeOf(e!, scopes)).Aggregate(Highest),
        SimpleCaseExpression c => c.WhenClauses.Select(w => w.ThenExpression).Append(c.ElseExpression).Where(e => e is not null and not NullLiteral)
            .Select(e => TypeOf(e!, scopes)).Aggregate(Highest),
        ScalarSubquery sub => Columns(sub.QueryExpression, scopes).FirstOrDefault().Type,
        FunctionCall f => f.FunctionName.Value.ToUpperInvariant() switch
        {
            "COUNT" => SqlType.Int,
            "COUNT_BIG" => SqlType.BigInt,
            "MAX" or "MIN" or "SUM" or "ABS" when f.Parameters.Count == 1 => TypeOf(f.Parameters[0], scopes) is var t && !(t == SqlType.Bit && f.FunctionName.Value.ToUpperInvariant() is "SUM" or "ABS") ? t : SqlType.Unknown,
            "LEN" => SqlType.Int,
            _ => SqlType.Unknown,
        },
        _ => SqlType.Unknown,
    };

    private static SqlType ColumnType(ColumnReferenceExpression column, List<Dictionary<string, Dictionary<string, SchemaColumn>>> scopes)
    {
        var id = column.MultiPartIdentifier.Identifiers;
        var name = id[^1].Value;
        foreach (var scope in scopes)
        {
            var candidates = id.Count > 1
                ? scope.TryGetValue(id[^2].Value, out var t) ? [t] : []
                : scope.Values.ToList();
            foreach (var table in candidates)
            {
                if (table.TryGetValue(name, out var c))
                {
                    return c.Type;
                }
            }
        }

        return SqlType.Unknown;
    }

    /// <summary>SQL Server's data type precedence among the types the store uses: FLOAT over BIGINT over INT over BIT over NVARCHAR.</summary>
    private static SqlType Highest(SqlType a, SqlType b) => a == SqlType.Unknown || b == SqlType.Unknown ? SqlType.Unknown : (SqlType)Math.Max((int)a, (int)b);

    private static SqlType TypeOf(DataTypeReference type) => type is SqlDataTypeReference sql
        ? sql.SqlDataTypeOption switch
        {
            SqlDataTypeOption.NVarChar or SqlDataTypeOption.VarChar or SqlDataTypeOption.NChar or SqlDataTypeOption.Char => SqlType.NVarChar,
            SqlDataTypeOption.Bit => SqlType.Bit,
            SqlDataTypeOption.Int => SqlType.Int,
            SqlDataTypeOption.BigInt => SqlType.BigInt,
            SqlDataTypeOption.Float => SqlType.Float,
            _ => SqlType.Unknown,
        }
        : SqlType.Unknown;

    private static string Declared(DataTypeReference type) => type is SqlDataTypeReference sql
        ? sql.SqlDataTypeOption.ToString().ToUpperInvariant() + (sql.Parameters.Count > 0 ? $"({string.Join(",", sql.Parameters.Select(p => p.Value.ToUpperInvariant()))})" : "")
        : type.Name.BaseIdentifier.Value.ToUpperInvariant();

    private static string Name(SchemaObjectName name) => name.BaseIdentifier.Value;

    private static string Last(ColumnReferenceExpression column) => column.MultiPartIdentifier.Identifiers[^1].Value;

    /// <summary>Calls an action for every node of a tree.</summary>
    internal sealed class Visitor(Action<TSqlFragment> visit) : TSqlFragmentVisitor
    {
        public override void Visit(TSqlFragment node) => visit(node);
    }
}
