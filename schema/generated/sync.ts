/* eslint-disable */
/**
 * Generated from schema/sync.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

export type ParameterValue = (string | number | boolean | SecretRef) | undefined;
export type SecretRef =
  | {
      /**
       * Name of an environment variable.
       */
      env: string;
    }
  | {
      /**
       * Path to a file whose content (trailing newline removed) is the value. ${VAR} is expanded, e.g. ${CREDENTIALS_DIRECTORY}/api_key for systemd credentials; a relative path is relative to the sync file.
       */
      file: string;
    };
/**
 * field: a top-level event field (user_id, device_id, platform…); event: event_properties; user: user_properties; group: group_properties.
 */
export type Scope = 'field' | 'event' | 'user' | 'group';
export type ConditionValue = string | number | boolean;

/**
 * An operator's sync of one destination: parameter values (secrets by reference), which events go, which properties travel, field mappings. Lives in destinations/<slug>/syncs/<name>.json; each sync has its own consumer, limiter and dead letters.
 */
export interface SyncDefinition {
  $schema?: string;
  enabled?: boolean;
  /**
   * Where a new sync's consumer starts reading the event stream, used once, when its consumer is first created (an existing consumer is never moved): "new" (events published from then on, the default, as Amplitude streams from the moment a sync is enabled), "all" (everything the stream still holds), or an ISO 8601 time (events published from then on).
   */
  startAt?: ('new' | 'all') | string;
  description?: string;
  /**
   * Values for the destination's declared parameters. A secret parameter must be a reference.
   */
  parameters?: {
    [k: string]: ParameterValue | undefined;
  };
  filter?: Filter;
  /**
   * Allow-list of event, user and group properties forwarded as mappedProperties (keyed by property name, or by 'as').
   */
  selectedProperties?: SelectedProperty[];
  /**
   * Destination property name (declared in userPropertyMappings) to the event field or property that fills it: mappedFields.
   */
  fieldMappings?: {
    [k: string]: PropertyRef | undefined;
  };
  /**
   * Forward $identify events through the destination's identify request: false (the default) forwards none; true or "all" forwards each identify whole; "changes" forwards only the user properties whose values changed since the last identify this sync delivered for that user (remembered in a NATS KV bucket), and an identify that changes nothing is filtered as "unchanged".
   */
  identifyForwarding?: boolean | ('all' | 'changes');
  /**
   * "user": each user's events (keyed by user_id, else device_id) reach the destination in stream order: while one of a user's events waits for its retry, that user's later events are held (other users flow), and a batch carries a user's events in order. Costs one request in flight per user at a time; an event with neither id is not ordered. Kept per daemon: see docs/operations.md for what it cannot promise. "none" (the default): events go as they come, many per user in flight.
   */
  ordering?: 'none' | 'user';
  tls?: SyncTls;
}
/**
 * An event passes when its type is listed (or no list is given) and every condition holds.
 */
export interface Filter {
  eventTypes?: string[];
  conditions?: Condition[];
}
export interface Condition {
  scope: Scope;
  property: string;
  op:
    | 'is'
    | 'is_not'
    | 'contains'
    | 'does_not_contain'
    | 'less'
    | 'less_or_equal'
    | 'greater'
    | 'greater_or_equal'
    | 'set'
    | 'not_set';
  /**
   * Compared value; is and is_not also take a list (any of / none of). Not used by set and not_set.
   */
  value?: ConditionValue | [ConditionValue, ...ConditionValue[]];
}
export interface SelectedProperty {
  scope: Scope;
  property: string;
  /**
   * Name in mappedProperties; the property name when absent.
   */
  as?: string;
}
export interface PropertyRef {
  scope: Scope;
  property: string;
}
/**
 * How this sync's requests check the destination's certificate. Verification is always on; this only says whom to trust.
 */
export interface SyncTls {
  /**
   * PEM CA bundle, by reference ({"file": path} or {"env": NAME}), read when the sync is loaded: the destination's certificate must chain to one of these instead of the public roots. For a private endpoint; include the public roots in the bundle to trust both.
   */
  ca?:
    | {
        /**
         * Name of an environment variable.
         */
        env: string;
      }
    | {
        /**
         * Path to a file whose content (trailing newline removed) is the value. ${VAR} is expanded, e.g. ${CREDENTIALS_DIRECTORY}/api_key for systemd credentials; a relative path is relative to the sync file.
         */
        file: string;
      };
}
