export { Args, evalScript, script } from './eval.js';
