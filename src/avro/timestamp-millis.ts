import avro from 'avsc';

/**
 * Avro `timestamp-millis` on a long. In memory kubevents keeps times as epoch-millisecond numbers
 * (cheap to compare in windows), so reads give numbers; writes accept numbers or Dates.
 */
export class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(value: unknown): number {
    return Number(value);
  }

  protected override _toValue(value: unknown): number | undefined {
    if (value instanceof Date) return value.getTime();
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    // undefined makes avsc report the value as invalid, with the field path
    return undefined;
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'long', 'int', 'logical:timestamp-millis')) {
      return (value) => this._fromValue(value);
    }
    return undefined;
  }
}
