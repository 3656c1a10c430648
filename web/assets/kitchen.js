// What the kitchen display and the expo share: which lines are still to
// cook, held courses, a ticket's clock at a station (the hub's rule of
// PROTOCOL 7.14, for tickets whose frames carry no timer), the hub's time
// on this device, and redrawing only the cards that changed.

export const OPEN = ['queued', 'preparing'];
export const STATUS_WORDS = { queued: 'to do', preparing: 'cooking', ready: 'ready', served: 'served', voided: 'void' };

export const isOpen = (line) => OPEN.includes(line.status);
/** A line of a course not fired yet. */
export const isHeld = (line) => !line.fired_at && line.status === 'queued';

/** The hub's clock as this device can know it: its own plus an offset. */
export const hubClock = {
  offset: 0,
  /** From a frame's `hub_time` (snapshots, all-day counts). */
  set(hubTime) {
    if (hubTime) this.offset = Date.parse(hubTime) - Date.now();
  },
  now() {
    return Date.now() + this.offset;
  },
};

/**
 * An order's clock at a station (`station`: {targets} from the stations
 * API): from the earliest start of its open fired lines there (or of all
 * its fired lines once none is open), with the station's thresholds for
 * the order's source. `null` while nothing there has fired.
 */
export function stationTimer(order, station, stationId) {
  if (!station) return null;
  const fired = order.lines.filter((l) => l.station_id === stationId && l.start_at && l.status !== 'voided');
  const open = fired.filter(isOpen);
  const from = (open.length ? open : fired).map((l) => Date.parse(l.start_at));
  if (!from.length) return null;
  const started = Math.min(...from);
  const target = (station.targets && station.targets[order.source]) || { caution_seconds: 300, late_seconds: 480 };
  return { started_at: started, caution_at: started + target.caution_seconds * 1000, due_at: started + target.late_seconds * 1000 };
}

/** "T4", or what a ticket without a table is. */
export function tableName(tables, order) {
  if (order.table_id == null) return order.source === 'takeaway' ? 'Takeaway' : 'No table';
  return tables.get(order.table_id) || `Table ${order.table_id}`;
}

/**
 * Puts `items` into `container` in order, rebuilding only the elements
 * whose signature changed, so a tap is not lost while another card updates.
 */
export function reconcile(container, items, sigOf, build) {
  const old = new Map([...container.children].filter((el) => el.dataset.key).map((el) => [el.dataset.key, el]));
  items.forEach((item, i) => {
    const key = String(item.id);
    const sig = sigOf(item, i);
    let el = old.get(key);
    if (!el || el.dataset.sig !== sig) {
      el = build(item, i);
      el.dataset.key = key;
      el.dataset.sig = sig;
    }
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
  });
  while (container.children.length > items.length) container.lastElementChild.remove();
}
