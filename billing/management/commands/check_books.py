from django.core.management.base import BaseCommand, CommandError

from billing.integrity import books_figures, books_problems


class Command(BaseCommand):
    help = (
        "Re-add the books: each invoice's subtotal is the sum of its lines, each "
        "credit grant's balance the sum of its ledger (run after a restore)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database: str, **options):
        books = books_figures(using=database)
        problems = books_problems(books)
        for problem in problems:
            self.stderr.write(problem)
        summary = (
            f"{len(books.invoices)} invoices, {len(books.grants)} credit grants, "
            f"{len(books.customers)} customers: {len(problems)} problem(s)."
        )
        if problems:
            raise CommandError(summary)
        self.stdout.write(summary)
