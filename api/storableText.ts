/**
 * Strings that reach Postgres text (bodies, query filters): U+0000 and lone UTF-16 surrogates are refused
 * with a 400 where they arrive; Postgres would refuse the first (a 500) and the driver would quietly turn
 * the second into U+FFFD, so two different strings would become one (two tenants, for a token's user).
 */
import { z } from 'zod';
import { isStorableText } from '../format';

export const storableText = (max: number, min = 0) =>
  z.string().min(min).max(max).refine(isStorableText, 'must not contain U+0000 or a lone surrogate');
