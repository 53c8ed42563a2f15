// A page that throws while rendering shows what happened and a way back, never a blank screen.
import { Component, type ReactNode } from "react";
import { ErrorMessage } from "./ErrorMessage";

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: undefined as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    if (this.state.error) {
      return (
        <ErrorMessage title="This page failed to render" error={this.state.error}
          onRetry={() => this.setState({ error: undefined })} />
      );
    }
    return this.props.children;
  }
}
