/* eslint-disable */
/**
 * Generated from schema/variables.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

/**
 * Non-secret values the syncs of a destinations folder share, written once: <destinations>/variables.json. A sync's parameter value names one as ${vars.NAME} anywhere in its text ("${vars.quickstart_sink}/braze"). A host's daemon configuration may give a declared variable another value (its "variables"); validate, preview and plan use the values of this file. Secrets are never variables: give them by reference in the sync.
 */
export interface DestinationVariables {
  $schema?: string;
  description?: string;
  /**
   * Variable name to its value.
   */
  variables: {
    [k: string]: string | undefined;
  };
}
