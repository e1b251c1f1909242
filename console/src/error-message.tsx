/** An API error as the user sees it: the API's own message, announced to screen readers. */
export function ErrorMessage({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}
