export { compileTemplate, TemplateSyntaxError, TemplateUnsafeError, TemplateMistakeError, RenderError, type CompiledTemplate, type CompileOptions } from './template.js';
export type { TemplatePosition } from './template-hints.js';
export { renderRequest, isJsonContentType, type RenderedRequest, type RequestTemplates, type RenderOptions } from './render-request.js';
export {
  buildEventContext,
  EventContextError,
  EVENT_CONTEXT_REASONS,
  type EventContext,
  type EventContextReason,
  type EventSelection,
  type FieldMapping,
  type RenderContext,
} from './context.js';
export { TEMPLATE_FILTERS, HASHING_FILTERS } from './filters.js';
export { parseTemplate } from './guarded-compiler.js';
export { isAstNode, walkTemplate, type AstNode } from './template-safety.js';
export { readsOnlyParameters, variablesBeyondParameters, variablesRead, type VariableRead } from './template-reads.js';
export { SecretTracker } from './secret-tracker.js';
export { translatePattern, PatternRefusal } from './pattern-translation.js';
export { ConstantRenders } from './constant-renders.js';
export { encodeHeaderText, headerId, HEADER_ID, unsendableHeader, unsendableHeaderMessage, type UnsendableHeader } from './header-values.js';
