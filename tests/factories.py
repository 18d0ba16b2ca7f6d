import datetime

import factory
from allauth.account.models import EmailAddress

from ilcop.models import User
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Organisation,
    Programme,
    Region,
    Site,
    SiteMembership,
    Specialty,
)

from .mfa import give_totp


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@trust.example")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
            if self.is_staff:
                # Staff must sign in in two steps (ilcop.mfa); see tests/mfa.py.
                give_totp(self)


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    name = factory.Sequence(lambda n: f"Lung Cancer Peer Review {n}")
    specialty = Specialty.LUNG_CANCER
    start_date = datetime.date(2026, 1, 5)
    end_date = datetime.date(2027, 12, 17)
    status = Programme.Status.RUNNING


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Wyvern Valley {n} NHS Trust")
    code = factory.Sequence(lambda n: f"ZT{n:03d}")
    region = Region.LONDON


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organisation = factory.SubFactory(OrganisationFactory)
    name = "Lung cancer MDT"
    code = factory.Sequence(lambda n: f"ZT{n:03d}-LUNG")
    specialty = Specialty.LUNG_CANCER
    mdt_day = 1
    mdt_time = datetime.time(13, 30)


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    programme = factory.SubFactory(ProgrammeFactory)
    site = factory.SubFactory(SiteFactory)
    status = Enrolment.Status.INVITED


class CoreTeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoreTeamMembership
        skip_postgeneration_save = True

    programme = factory.SubFactory(ProgrammeFactory)
    user = factory.SubFactory(UserFactory)
    role = CoreTeamMembership.Role.PROJECT_MANAGER

    @factory.post_generation
    def authenticator_app(self, create, extracted, **kwargs):
        # The core team must sign in in two steps (ilcop.mfa): without an authenticator app a
        # signed-in member would be sent to its setup page. Pass authenticator_app=False to
        # test exactly that.
        if create and extracted is not False:
            give_totp(self.user)


class SiteMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    site = factory.SubFactory(SiteFactory)
    user = factory.SubFactory(UserFactory)
    role = SiteMembership.Role.CLINICAL_LEAD
