interface Props {
  onSignIn: () => void;
  message?: string | undefined;
}

export function SignInPage({ onSignIn, message }: Props) {
  return (
    <section aria-labelledby="sign-in-heading" class="panel">
      <h1 id="sign-in-heading">Welcome to FlixTube</h1>
      <p>Sign in to watch videos and see your history.</p>
      {message && (
        <p role="alert" class="error" data-testid="sign-in-error">
          {message}
        </p>
      )}
      <button type="button" class="primary" data-testid="sign-in" onClick={onSignIn}>
        Sign in
      </button>
    </section>
  );
}
