using System.Data.Common;

namespace Vehicles.Storage;

/// <summary>
/// One numbered step of a schema: DDL that is safe to run again (<c>IF NOT EXISTS</c>, <c>CREATE OR REPLACE</c>) and
/// the statements it stores in <c>OrleansQuery</c> (written with an upsert, so a later step may replace a text).
/// A released step is never edited; a change is a new step with the next number. <see cref="Prepare"/>, when given,
/// runs in the same transaction before the DDL, for what SQL alone cannot decide (SQLite has no conditional DDL).
/// </summary>
internal sealed record SchemaStep(
    int Version,
    string Description,
    string Ddl,
    IReadOnlyDictionary<string, string> Queries,
    Func<DbConnection, DbTransaction, CancellationToken, Task>? Prepare = null);
