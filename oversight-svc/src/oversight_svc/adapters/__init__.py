"""oversight's adapters: tables, prebuilt statements and repositories, the calendar cache, report files."""
