/**
 * GitLab's offset pagination (lib/api/helpers/pagination.rb): `page` (from 1) and `per_page` (default
 * 20, at most 100), answered with `x-total`, `x-total-pages`, `x-per-page`, `x-page`, `x-next-page`,
 * `x-prev-page` and a `link` header (next/prev/first/last) that keeps the request's other params.
 */
export function paginate<T>(items: T[], params: Record<string, unknown>, url: string): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(params.per_page ?? 20) || 20));
  const page = Math.max(1, Number(params.page ?? 1) || 1);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const headers: Record<string, string> = {
    'x-total': String(items.length),
    'x-total-pages': String(totalPages),
    'x-per-page': String(perPage),
    'x-page': String(page),
    'x-next-page': page < totalPages ? String(page + 1) : '',
    'x-prev-page': page > 1 ? String(page - 1) : '',
  };
  const linkFor = (p: number, rel: string): string => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (k === 'page' || k === 'per_page' || k === 'token' || v === undefined || typeof v === 'object') continue;
      q.set(k, String(v as string | number | boolean));
    }
    q.set('page', String(p));
    q.set('per_page', String(perPage));
    return `<${url}?${q.toString()}>; rel="${rel}"`;
  };
  const links = [linkFor(1, 'first'), linkFor(totalPages, 'last')];
  if (page < totalPages) links.unshift(linkFor(page + 1, 'next'));
  if (page > 1) links.unshift(linkFor(page - 1, 'prev'));
  headers.link = links.join(', ');
  return { page: items.slice((page - 1) * perPage, page * perPage), headers };
}
