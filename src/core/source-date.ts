// SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/): the build's timestamps, as a whole
// number of seconds since 1970-01-01 UTC. Pure.

/** The time SOURCE_DATE_EPOCH names; undefined when unset or empty; an Error saying why when it is not valid. */
export function sourceDateEpoch(value: string | undefined): Date | undefined | Error {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  if (!/^[0-9]{1,12}$/.test(text)) {
    return new Error(
      `SOURCE_DATE_EPOCH: '${text}' is not a whole number of seconds since 1970-01-01 UTC (e.g. $(git log -1 --format=%ct))`,
    );
  }
  return new Date(Number(text) * 1000);
}
