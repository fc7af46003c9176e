import { sql, type CompiledQuery, type RawBuilder } from 'kysely'

/** Where a value goes in a statement compiled once: replaced by the call's value of that name. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * Statements built and compiled once per shape. Building a Kysely query and compiling it to SQL
 * costs CPU on every call, about as much as PostgreSQL spends running a small statement (a launch
 * with its computed columns: a tenth of a millisecond). A statement whose text depends only on its
 * shape (which filters are present, say) is built once with `slot(name)` where each value goes;
 * later calls only put their values in. Every statement of one cache takes the same `Values`.
 */
export class StatementCache<Values extends object> {
  readonly #compiled = new Map<string, CompiledQuery>()

  /** A placeholder for the value named `name` of each call. */
  readonly slot = <T>(name: keyof Values & string): RawBuilder<T> => sql.val(new Slot(name) as unknown as T)

  /** The statement of this shape (built by `build` the first time) with the call's values in its placeholders. */
  statement<Row>(shape: string, build: () => CompiledQuery<Row>, values: Values): CompiledQuery<Row> {
    let compiled = this.#compiled.get(shape) as CompiledQuery<Row> | undefined
    if (!compiled) {
      compiled = build()
      this.#compiled.set(shape, compiled)
    }
    const parameters = compiled.parameters.map((value) => (value instanceof Slot ? values[value.name as keyof Values] : value))
    return { ...compiled, parameters }
  }
}
