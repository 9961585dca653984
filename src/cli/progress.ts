import type { Logger } from '../core/logger.js';
import type { ReplayProgress } from '../sources/replay.js';

/** A progress line on stderr every few seconds of a long replay: count, rate, event time, ETA. */
export function progressReporter(logger: Logger, everyMs = 3000): (p: ReplayProgress) => void {
  const started = Date.now();
  let last = started;
  return (p) => {
    const now = Date.now();
    const finished = p.emitted >= p.total;
    if (!finished && now - last < everyMs) return;
    if (finished && now - started < everyMs) return; // a short replay needs no progress line
    last = now;
    const seconds = (now - started) / 1000;
    const perSecond = seconds > 0 ? p.emitted / seconds : 0;
    const eta = perSecond > 0 ? Math.ceil((p.total - p.emitted) / perSecond) : null;
    const percent = p.total ? ((100 * p.emitted) / p.total).toFixed(1) : '100.0';
    const at = p.eventTimeMs !== null ? ` event time ${new Date(p.eventTimeMs).toISOString()}` : '';
    logger.info(
      { emitted: p.emitted, total: p.total, perSecond: Math.round(perSecond), etaSeconds: eta },
      `replayed ${p.emitted}/${p.total} (${percent}%), ${Math.round(perSecond)}/s,${at}${eta !== null && !finished ? `, ETA ${eta}s` : ''}`,
    );
  };
}
