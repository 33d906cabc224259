/** Error codes of scm-native. Every error thrown or rejected by the package is an ScmError. */
export type ScmErrorCode =
  | 'E_ARGUMENT'
  | 'E_SHAPE'
  | 'E_BACKEND_UNAVAILABLE'
  | 'E_ABORTED'
  | 'E_IO'
  | 'E_BAD_CHECKPOINT'
  | 'E_OUT_OF_MEMORY'
  | 'E_CUDA'
  | 'E_NONFINITE'
  | 'E_INTERNAL';

/** The one error class of scm-native: `code` says what kind of problem, `message` names it. */
export class ScmError extends Error {
  readonly code: ScmErrorCode;
  constructor(message: string, code: ScmErrorCode | string) {
    super(message);
    this.name = 'ScmError';
    this.code = code as ScmErrorCode;
  }
}

export function argumentError(message: string): ScmError {
  return new ScmError(message, 'E_ARGUMENT');
}

export function shapeError(message: string): ScmError {
  return new ScmError(message, 'E_SHAPE');
}
