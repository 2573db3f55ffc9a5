/* eslint-disable */
/**
 * Generated from schema/event.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

/**
 * One analytics event in Amplitude's HTTP API v2 shape, published to the events stream as one JSON message. Identify calls are events with event_type $identify whose user_properties hold operations ($set, $setOnce, $unset, $add, …).
 */
export type AmplitudeEvent = {
  [k: string]: unknown | undefined;
} & {
  event_type: string;
  user_id?: string;
  device_id?: string;
  /**
   * Milliseconds since epoch.
   */
  time?: number;
  /**
   * Dedupe key; travels to the destination.
   */
  insert_id?: string;
  event_id?: number;
  session_id?: number;
  event_properties?: Properties;
  user_properties?: Properties;
  groups?: Properties;
  group_properties?: Properties;
  app_version?: string;
  platform?: string;
  os_name?: string;
  os_version?: string;
  device_brand?: string;
  device_manufacturer?: string;
  device_model?: string;
  carrier?: string;
  country?: string;
  region?: string;
  city?: string;
  dma?: string;
  language?: string;
  price?: number;
  quantity?: number;
  revenue?: number;
  productId?: string;
  revenueType?: string;
  location_lat?: number;
  location_lng?: number;
  ip?: string;
  idfa?: string;
  idfv?: string;
  adid?: string;
  android_id?: string;
  library?: string;
  partner_id?: string;
  plan?: {
    branch?: string;
    source?: string;
    version?: string;
  };
  [k: string]: unknown | undefined;
};

export interface Properties {
  [k: string]: unknown | undefined;
}
