// amqp091 consuming with `for await` over channel.consume() instead of a
// basicConsume() callback (issue 12: the iterator may cost at most 10% more
// client CPU per message than the callback). Not a peer: the report puts it
// in its own table next to `ours` (bench/lib/report-iterator.ts).

import { oursAdapter } from './ours.js';

export default oursAdapter('iterator');
