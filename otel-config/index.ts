/** OpenTelemetry Collector YAML: loading, merging, `${env:...}` expansion, `--set`, validation. */
export { ConfigError, formatIssue, type ConfigIssue } from './issues.js';
export { expandEnv, loadConfigSources, mergeConfig, parseSetFlag, type ConfigMap } from './load.js';
export { catalog, loadConfig, parseComponentId, validateConfig } from './validate.js';
export type { CollectorConfig, ComponentInstance, PipelineConfig, TelemetryConfig } from './validate.js';
export type * from './components.js';
