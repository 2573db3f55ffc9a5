export { compileTemplate, TemplateSyntaxError, TemplateUnsafeError, TemplateMistakeError, RenderError, type CompiledTemplate, type CompileOptions } from './template.js';
export { renderRequest, type RenderedRequest, type RequestTemplates, type RenderOptions } from './render-request.js';
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
export { TEMPLATE_FILTERS } from './filters.js';
export { parseTemplate } from './guarded-compiler.js';
export { isAstNode, walkTemplate, type AstNode } from './template-safety.js';
export { readsOnlyParameters, variablesBeyondParameters, variablesRead, type VariableRead } from './template-reads.js';
export { SecretTracker } from './secret-tracker.js';
export { ConstantRenders } from './constant-renders.js';
