using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Compliance.Storage.Tests.TSql;

/// <summary>The SQL Server types a result column can have, as far as the store reads them.</summary>
internal enum SqlType
{
    Unknown,
    NVarChar,
    Bit,
    Int,
    BigInt,
    Float,
}

/// <summary>One command the store ran: its text, its parameters, and whether it ran in a transaction.</summary>
internal sealed record Execution(string Method, string Sql, IReadOnlyDictionary<string, object?> Parameters, bool InTransaction);

/// <summary>
/// What the recording provider answers and what it saw. <see cref="Rows"/> chooses between an empty database (no rows,
/// no scalars, nothing changed) and one where every query finds one row of values typed as SQL Server types its columns
/// (<see cref="Describe"/>), so both branches of the store's code run.
/// </summary>
internal sealed class Recorder(Func<string, IReadOnlyList<(string Name, SqlType Type)>> describe, Func<string, bool>? alwaysARow = null)
{
    public List<Execution> Executions { get; } = [];

    /// <summary>Where the provider's rules were broken: a typed read SQL Server would refuse, a command outside its transaction...</summary>
    public List<string> Problems { get; } = [];

    public bool Rows { get; set; }

    /// <summary>The store method being driven, for the record.</summary>
    public string Method { get; set; } = "";

    public IReadOnlyList<(string Name, SqlType Type)> Describe(string sql) => describe(sql);

    /// <summary>Whether the command returns a row even from an empty database (a SELECT without FROM).</summary>
    public bool RowFor(string sql) => Rows || (alwaysARow?.Invoke(sql) ?? false);

    public Exception Fail(string problem)
    {
        Problems.Add($"{Method}: {problem}");
        return new InvalidOperationException(problem);
    }
}

/// <summary>
/// A connection that runs nothing: it records each command and answers as <see cref="Recorder"/> says, enforcing what
/// SqlClient enforces (one transaction at a time, every command on the connection's transaction, one open reader).
/// </summary>
internal sealed class RecordingConnection(Recorder recorder) : DbConnection
{
    private ConnectionState _state = ConnectionState.Closed;

    public Recorder Recorder { get; } = recorder;

    public RecordingTransaction? Transaction { get; set; }

    public RecordingReader? OpenReader { get; set; }

    [AllowNull]
    public override string ConnectionString { get; set; } = "";

    public override string Database => "recording";

    public override string DataSource => "recording";

    public override string ServerVersion => "16.0";

    public override ConnectionState State => _state;

    public override void ChangeDatabase(string databaseName) => throw new NotSupportedException();

    public override void Close()
    {
        Transaction = null;
        _state = ConnectionState.Closed;
    }

    public override void Open() => _state = ConnectionState.Open;

    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel)
    {
        if (_state != ConnectionState.Open)
        {
            throw Recorder.Fail("a transaction was begun on a closed connection");
        }

        if (Transaction is not null)
        {
            throw Recorder.Fail("a second transaction was begun on a connection (SqlClient does not support parallel transactions)");
        }

        return Transaction = new RecordingTransaction(this, isolationLevel);
    }

    protected override DbCommand CreateDbCommand() => new RecordingCommand(this);
}

internal sealed class RecordingTransaction(RecordingConnection connection, IsolationLevel isolationLevel) : DbTransaction
{
    public override IsolationLevel IsolationLevel { get; } = isolationLevel;

    protected override DbConnection DbConnection => connection;

    public override void Commit() => End("committed");

    public override void Rollback() => End("rolled back");

    protected override void Dispose(bool disposing)
    {
        if (ReferenceEquals(connection.Transaction, this))
        {
            connection.Transaction = null;
        }

        base.Dispose(disposing);
    }

    private void End(string how)
    {
        if (!ReferenceEquals(connection.Transaction, this))
        {
            throw connection.Recorder.Fail($"a transaction already ended was {how}");
        }

        connection.Transaction = null;
    }
}

internal sealed class RecordingCommand(RecordingConnection connection) : DbCommand
{
    private readonly RecordingParameters _parameters = new();

    [AllowNull]
    public override string CommandText { get; set; } = "";

    public override int CommandTimeout { get; set; } = 30;

    public override CommandType CommandType { get; set; } = CommandType.Text;

    public override bool DesignTimeVisible { get; set; }

    public override UpdateRowSource UpdatedRowSource { get; set; }

    protected override DbConnection? DbConnection { get => connection; set => throw new NotSupportedException(); }

    protected override DbParameterCollection DbParameterCollection => _parameters;

    protected override DbTransaction? DbTransaction { get; set; }

    public override void Cancel()
    {
    }

    public override void Prepare()
    {
    }

    protected override DbParameter CreateDbParameter() => new RecordingParameter();

    public override int ExecuteNonQuery()
    {
        Record();
        return connection.Recorder.Rows ? 1 : 0;
    }

    public override object? ExecuteScalar()
    {
        Record();
        var columns = connection.Recorder.Describe(CommandText);
        return connection.Recorder.RowFor(CommandText) && columns.Count > 0 ? RecordingReader.Sample(columns[0]) : null;
    }

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
    {
        Record();
        var reader = new RecordingReader(connection, CommandText, connection.Recorder.Describe(CommandText), connection.Recorder.RowFor(CommandText));
        connection.OpenReader = reader;
        return reader;
    }

    private void Record()
    {
        var recorder = connection.Recorder;
        if (connection.State != ConnectionState.Open)
        {
            throw recorder.Fail("a command ran on a closed connection");
        }

        if (connection.OpenReader is not null)
        {
            throw recorder.Fail($"a command ran while a reader was open on its connection (no MARS): {CommandText}");
        }

        if (!ReferenceEquals(Transaction, connection.Transaction))
        {
            throw recorder.Fail(connection.Transaction is null
                ? $"a command named a transaction its connection does not have: {CommandText}"
                : $"a command ran without the connection's pending transaction (SqlClient refuses it): {CommandText}");
        }

        var parameters = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (DbParameter p in _parameters)
        {
            parameters[p.ParameterName] = p.Value;
        }

        recorder.Executions.Add(new Execution(recorder.Method, CommandText, parameters, connection.Transaction is not null));
    }
}

internal sealed class RecordingParameter : DbParameter
{
    public override DbType DbType { get; set; } = DbType.Object;

    public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;

    public override bool IsNullable { get; set; }

    [AllowNull]
    public override string ParameterName { get; set; } = "";

    public override int Size { get; set; }

    [AllowNull]
    public override string SourceColumn { get; set; } = "";

    public override bool SourceColumnNullMapping { get; set; }

    public override object? Value { get; set; }

    public override void ResetDbType()
    {
    }
}

internal sealed class RecordingParameters : DbParameterCollection
{
    private readonly List<DbParameter> _items = [];

    public override int Count => _items.Count;

    public override object SyncRoot => _items;

    public override int Add(object value)
    {
        _items.Add((DbParameter)value);
        return _items.Count - 1;
    }

    public override void AddRange(Array values)
    {
        foreach (var value in values)
        {
            Add(value!);
        }
    }

    public override void Clear() => _items.Clear();

    public override bool Contains(object value) => _items.Contains((DbParameter)value);

    public override bool Contains(string value) => IndexOf(value) >= 0;

    public override void CopyTo(Array array, int index) => ((ICollection)_items).CopyTo(array, index);

    public override IEnumerator GetEnumerator() => _items.GetEnumerator();

    public override int IndexOf(object value) => _items.IndexOf((DbParameter)value);

    public override int IndexOf(string parameterName) => _items.FindIndex(p => p.ParameterName == parameterName);

    public override void Insert(int index, object value) => _items.Insert(index, (DbParameter)value);

    public override void Remove(object value) => _items.Remove((DbParameter)value);

    public override void RemoveAt(int index) => _items.RemoveAt(index);

    public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOf(parameterName));

    protected override DbParameter GetParameter(int index) => _items[index];

    protected override DbParameter GetParameter(string parameterName) => _items[IndexOf(parameterName)];

    protected override void SetParameter(int index, DbParameter value) => _items[index] = value;

    protected override void SetParameter(string parameterName, DbParameter value) => _items[IndexOf(parameterName)] = value;
}

/// <summary>
/// No row, or one row of values of the CLR types SqlClient hands out for the columns' SQL Server types. Its typed
/// getters convert nothing, as SqlClient's do not: GetInt64 of an INT column is an InvalidCastException.
/// </summary>
internal sealed class RecordingReader(RecordingConnection connection, string sql, IReadOnlyList<(string Name, SqlType Type)> columns, bool oneRow) : DbDataReader
{
    private int _position = -1;
    private bool _closed;

    /// <summary>A value of the column's type that the store's readers can parse (JSON, hex, base64 where they expect it).</summary>
    public static object Sample((string Name, SqlType Type) column) => column.Type switch
    {
        SqlType.BigInt => 1L,
        SqlType.Int => 1,
        SqlType.Bit => true,
        SqlType.Float => 1.0,
        SqlType.NVarChar => column.Name switch
        {
            "document" => """{"contactPoints":[],"parties":[],"profiles":[],"inconvenientTimes":[]}""",
            "rules" or "profiles" or "violations" or "event_ids" => "[]",
            "payload" or "hours" => "{}",
            "signature" => "AAAA",
            _ when column.Name.EndsWith("hash", StringComparison.Ordinal) => new string('0', 64),
            _ => "x",
        },
        _ => throw new InvalidOperationException($"Column '{column.Name}' has no type the test knows."),
    };

    public override int FieldCount => columns.Count;

    public override bool HasRows => oneRow;

    public override bool IsClosed => _closed;

    public override int RecordsAffected => -1;

    public override int Depth => 0;

    public override object this[int ordinal] => GetValue(ordinal);

    public override object this[string name] => GetValue(GetOrdinal(name));

    public override bool Read()
    {
        _position++;
        return oneRow && _position == 0;
    }

    public override bool NextResult() => false;

    public override void Close()
    {
        _closed = true;
        if (ReferenceEquals(connection.OpenReader, this))
        {
            connection.OpenReader = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        Close();
        base.Dispose(disposing);
    }

    public override object GetValue(int ordinal) => Column(ordinal);

    public override bool IsDBNull(int ordinal)
    {
        Column(ordinal);
        return false;
    }

    public override long GetInt64(int ordinal) => Typed<long>(ordinal);

    public override int GetInt32(int ordinal) => Typed<int>(ordinal);

    public override bool GetBoolean(int ordinal) => Typed<bool>(ordinal);

    public override double GetDouble(int ordinal) => Typed<double>(ordinal);

    public override string GetString(int ordinal) => Typed<string>(ordinal);

    public override short GetInt16(int ordinal) => Typed<short>(ordinal);

    public override byte GetByte(int ordinal) => Typed<byte>(ordinal);

    public override float GetFloat(int ordinal) => Typed<float>(ordinal);

    public override decimal GetDecimal(int ordinal) => Typed<decimal>(ordinal);

    public override DateTime GetDateTime(int ordinal) => Typed<DateTime>(ordinal);

    public override Guid GetGuid(int ordinal) => Typed<Guid>(ordinal);

    public override char GetChar(int ordinal) => Typed<char>(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => throw new NotSupportedException();

    public override string GetDataTypeName(int ordinal) => columns[ordinal].Type.ToString();

    public override Type GetFieldType(int ordinal) => Sample(columns[ordinal]).GetType();

    public override string GetName(int ordinal) => columns[ordinal].Name;

    public override int GetOrdinal(string name) => columns.ToList().FindIndex(c => c.Name == name);

    public override int GetValues(object[] values)
    {
        for (var i = 0; i < Math.Min(values.Length, columns.Count); i++)
        {
            values[i] = GetValue(i);
        }

        return Math.Min(values.Length, columns.Count);
    }

    public override IEnumerator GetEnumerator() => throw new NotSupportedException();

    private object Column(int ordinal)
    {
        if (_position != 0 || !oneRow)
        {
            throw connection.Recorder.Fail($"a value was read with no current row: {sql}");
        }

        if (ordinal >= columns.Count)
        {
            throw connection.Recorder.Fail($"column {ordinal} was read, but the statement returns {columns.Count}: {sql}");
        }

        return Sample(columns[ordinal]);
    }

    private T Typed<T>(int ordinal)
    {
        var value = Column(ordinal);
        if (value is not T typed)
        {
            connection.Recorder.Problems.Add(
                $"{connection.Recorder.Method}: Get{typeof(T).Name} of column {ordinal} ('{columns[ordinal].Name}', SQL Server {columns[ordinal].Type}, read as {value.GetType().Name}): {OneLine(sql)}");
            throw new InvalidCastException($"Unable to cast object of type '{value.GetType()}' to type '{typeof(T)}'.");
        }

        return typed;
    }

    internal static string OneLine(string sql) => string.Join(' ', sql.Split((char[])['\r', '\n', ' '], StringSplitOptions.RemoveEmptyEntries));
}
