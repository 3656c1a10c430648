-- The late-ticket sweep (issue 22). Every second each instance looks for
-- fired lines still queued or preparing whose start is old enough to be
-- late. Joined from orders, that read every open line of every restaurant,
-- and on a table PostgreSQL had not analysed yet its planner chose a nested
-- loop that read them once per order: 3.7 s a sweep at 3,000 orders. The
-- sweep now starts from this index, bounded by the shortest late threshold
-- of any station, so it reads only lines that may be late.
CREATE INDEX order_lines_open_fired_by_start ON order_lines (start_at)
    WHERE fired_at IS NOT NULL AND status IN ('queued', 'preparing');
