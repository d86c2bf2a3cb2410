/**
 * The API error catalogue (docs/style.md §2.6): every error leaves the API as
 * {"error":{"code","message","details"}} with the status given here.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const Errors = {
  unauthorized: () =>
    new AppError(401, 'unauthorized', 'Missing or malformed credentials: send "Authorization: Bearer <token>".'),
  invalidToken: () => new AppError(401, 'invalid_token', 'The bearer token is not valid. Ask an admin for a new uploader token.'),
  forbidden: (what = 'this resource') => new AppError(403, 'forbidden', `Your token may not access ${what}.`),
  notFound: (what: string) => new AppError(404, 'not_found', `${what} was not found.`),
  badRequest: (code: string, message: string, details?: unknown) => new AppError(400, code, message, details),
  conflict: (code: string, message: string, details?: unknown) => new AppError(409, code, message, details),
  tooLarge: (limit: string) =>
    new AppError(
      413,
      'payload_too_large',
      `The dump is larger than this endpoint accepts (${limit}). Upload it resumably through /v1/uploads (tus 1.0.0) instead.`,
      { limit, uploadUrl: '/v1/uploads' },
    ),
  unavailable: (what: string) => new AppError(503, 'unavailable', `${what} is not reachable right now; try again shortly.`),
};
