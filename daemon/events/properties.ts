// Reading a field or property out of an event, for filters, selected properties and field mappings.
import type { AmplitudeEvent } from '../../schema/generated/event.js';
import type { PropertyRef } from '../../schema/generated/sync.js';

type Bag = Record<string, unknown> | undefined;

/** The value a reference points at, or undefined. For user properties of an identify event the
 *  `$set` and `$setOnce` operations are read too, so a mapping works on both kinds of event. */
export function readProperty(event: AmplitudeEvent, ref: PropertyRef): unknown {
  switch (ref.scope) {
    case 'field':
      // Own fields only: `constructor` or `__proto__` must not read Object.prototype.
      return own(event as Bag, ref.property);
    case 'event':
      return own(event.event_properties as Bag, ref.property);
    case 'group':
      return own(event.group_properties as Bag, ref.property);
    case 'user': {
      const properties = event.user_properties as Bag;
      const direct = own(properties, ref.property);
      if (direct !== undefined || !properties) return direct;
      return own(properties.$set as Bag, ref.property) ?? own(properties.$setOnce as Bag, ref.property);
    }
  }
}

function own(bag: Bag, key: string): unknown {
  return bag && typeof bag === 'object' && Object.hasOwn(bag, key) ? bag[key] : undefined;
}
